import { BoundedMap } from './bounded-map.js';
import { MemberState } from './member-state.js';
import type { PostgresDatabase } from './postgres-database.js';
import {
  APPEND_AFTER,
  APPEND_LOCKED,
  LOCK_FOR_APPEND,
  draftValues,
  prepared,
} from './postgres-statements.js';
import { appendedResult } from './store.js';
import type { AllocateMsgId, AppendResult, MessageDraft } from './store.js';

/** Conversations whose newest MsgId a node keeps for its one-statement appends. */
const LAST_ID_ENTRIES = 100_000;

/**
 * Appends messages to PostgreSQL. When this node knows the conversation's newest MsgId (it
 * stored it), one statement appends if that is still the newest and the sender still a member —
 * one round trip instead of four. Otherwise, or when the guess was wrong (another node appended
 * since, the sender left, the conversation is gone), the locked transaction decides.
 */
export class PostgresAppender {
  /**
   * Per conversation, the newest MsgId this node stored: a guess, which the one-statement
   * append checks under the row lock (another node may have appended since).
   */
  private readonly lastIds = new BoundedMap<string, string>(LAST_ID_ENTRIES);

  constructor(
    private readonly db: PostgresDatabase,
    private readonly allocate: AllocateMsgId,
  ) {}

  async append(draft: MessageDraft): Promise<AppendResult> {
    const guess = this.lastIds.get(draft.conversationId);
    if (guess !== undefined) {
      const msgId = this.allocate(guess);
      const appended = await this.db.rows<{ one: number }>(APPEND_AFTER, [
        ...draftValues(draft, msgId),
        guess,
      ]);
      if (appended.length === 1) {
        this.lastIds.set(draft.conversationId, msgId);
        return appendedResult(draft, msgId, guess);
      }
      this.lastIds.delete(draft.conversationId);
    }
    const result = await this.lockedAppend(draft);
    if (result.kind === 'appended') this.lastIds.set(draft.conversationId, result.message.MsgId);
    return result;
  }

  /** The row lock orders appends per conversation: ids rise in commit order on every node. */
  private lockedAppend(draft: MessageDraft): Promise<AppendResult> {
    return this.db.tx(async (c): Promise<AppendResult> => {
      const { rows } = await c.query<{ last_msg_id: string | null; state: number | null }>(
        prepared(LOCK_FOR_APPEND, [draft.conversationId, draft.fromSession]),
      );
      const row = rows[0];
      if (!row) return { kind: 'not-found' };
      if (row.state !== MemberState.Member) return { kind: 'not-member' };
      const msgId = this.allocate(row.last_msg_id);
      await c.query(prepared(APPEND_LOCKED, draftValues(draft, msgId)));
      return appendedResult(draft, msgId, row.last_msg_id);
    });
  }
}
