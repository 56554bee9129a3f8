import type { PoolClient } from 'pg';
import type { Message } from '../domain/message.js';
import { BoundedMap } from './bounded-map.js';
import { insertOutboxRow } from './postgres-webhook-outbox.js';
import { MemberState } from './member-state.js';
import type { PostgresDatabase } from './postgres-database.js';
import {
  APPEND_AFTER,
  APPEND_AFTER_EVENT,
  APPEND_AFTER_KEYED,
  APPEND_AFTER_KEYED_EVENT,
  APPEND_LOCKED,
  APPEND_LOCKED_KEYED,
  KEYED_MESSAGE,
  LOCK_FOR_APPEND,
  prepared,
} from './postgres-statements.js';
import { CLIENT_MSG_ID_TTL_MS, appendedResult, messageRow } from './store.js';
import type { AllocateMsgId, AppendResult, MessageDraft } from './store.js';

/** Conversations whose newest MsgId a node keeps for its one-statement appends. */
const LAST_ID_ENTRIES = 100_000;

/** The draft's send time in ms, and the oldest first use of a key that still deduplicates. */
function keyTimes(draft: MessageDraft): { nowMs: number; freshSinceMs: number } {
  const nowMs = Math.floor(draft.sendTime / 1000);
  return { nowMs, freshSinceMs: nowMs - CLIENT_MSG_ID_TTL_MS };
}

/**
 * Appends messages to PostgreSQL. When this node knows the conversation's newest MsgId (it
 * stored it), one statement appends if that is still the newest, the sender still a member
 * and the idempotency key (if any) unused — one round trip instead of four. Otherwise, or
 * when the guess was wrong (another node appended since, the sender left, the conversation is
 * gone, the key was used), the locked transaction decides.
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

  /** Every append takes the conversation's row lock, so two with one key never both store. */
  async append(draft: MessageDraft): Promise<AppendResult> {
    const guess = this.lastIds.get(draft.conversationId);
    if (guess !== undefined) {
      const msgId = this.allocate(guess);
      const values = [...messageRow(draft, msgId), guess];
      if (draft.clientMsgId !== undefined) {
        const { nowMs, freshSinceMs } = keyTimes(draft);
        values.push(draft.clientMsgId, freshSinceMs, nowMs);
      }
      const result = appendedResult(draft, msgId, guess);
      // The event rides in the same statement, written only if the message is.
      const event = draft.event?.(result.message);
      if (event) values.push(event.id, event.body, event.createdAtMs);
      const appended = await this.db.rows<{ one: number }>(
        draft.clientMsgId === undefined
          ? event
            ? APPEND_AFTER_EVENT
            : APPEND_AFTER
          : event
            ? APPEND_AFTER_KEYED_EVENT
            : APPEND_AFTER_KEYED,
        values,
      );
      if (appended.length === 1) {
        this.lastIds.set(draft.conversationId, msgId);
        return result;
      }
      this.lastIds.delete(draft.conversationId);
    }
    return this.lockedAppend(draft, true);
  }

  /** A server-side send (any sender): always the locked transaction, as such sends are few. */
  appendUnchecked(draft: MessageDraft): Promise<AppendResult> {
    return this.lockedAppend(draft, false);
  }

  /** The row lock orders appends per conversation: ids rise in commit order on every node. */
  private async lockedAppend(draft: MessageDraft, checkMember: boolean): Promise<AppendResult> {
    const result = await this.db.tx(async (c): Promise<AppendResult> => {
      const { rows } = await c.query<{ last_msg_id: string | null; state: number | null }>(
        prepared(LOCK_FOR_APPEND, [draft.conversationId, draft.fromSession]),
      );
      const row = rows[0];
      if (!row) return { kind: 'not-found' };
      if (checkMember && row.state !== MemberState.Member) return { kind: 'not-member' };
      if (draft.clientMsgId === undefined) {
        const msgId = this.allocate(row.last_msg_id);
        await c.query(prepared(APPEND_LOCKED, messageRow(draft, msgId)));
        return this.withEvent(c, draft, appendedResult(draft, msgId, row.last_msg_id));
      }
      const { nowMs, freshSinceMs } = keyTimes(draft);
      const first = await c.query<Message>(
        prepared(KEYED_MESSAGE, [
          draft.conversationId,
          draft.fromSession,
          draft.clientMsgId,
          freshSinceMs,
        ]),
      );
      if (first.rows[0]) return { kind: 'duplicate', message: first.rows[0] };
      const msgId = this.allocate(row.last_msg_id);
      await c.query(
        prepared(APPEND_LOCKED_KEYED, [...messageRow(draft, msgId), draft.clientMsgId, nowMs]),
      );
      return this.withEvent(c, draft, appendedResult(draft, msgId, row.last_msg_id));
    });
    if (result.kind === 'appended') this.lastIds.set(draft.conversationId, result.message.MsgId);
    return result;
  }

  /** Writes the stored message's webhook event (if any) in its transaction. */
  private async withEvent(
    c: PoolClient,
    draft: MessageDraft,
    result: Extract<AppendResult, { kind: 'appended' }>,
  ): Promise<AppendResult> {
    if (draft.event) await insertOutboxRow(c, draft.event(result.message));
    return result;
  }
}
