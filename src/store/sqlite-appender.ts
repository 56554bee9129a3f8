import { BoundedMap } from './bounded-map.js';
import { MemberState } from './member-state.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { SqliteWebhookOutbox } from './sqlite-webhook-outbox.js';
import { CLIENT_MSG_ID_TTL_MS, appendedResult, messageRow } from './store.js';
import type { AllocateMsgId, AppendResult, MessageDraft } from './store.js';

/** Entries in each of the appender's caches of conversation state (oldest dropped first). */
const CACHE_ENTRIES = 100_000;

const memberKey = (conversationId: string, session: string): string =>
  `${conversationId}\u0000${session}`;

/**
 * `SqliteStore`'s appends, each run inside a group commit (see `SqliteGroupCommit`), with what
 * they need to know kept from earlier appends: each conversation's newest MsgId and each
 * (conversation, session)'s member state (null: no member row). The store's connection writes
 * every change to them and reports it here (`forgetMember`); a commit by any other connection
 * (`data_version`) empties both.
 */
export class SqliteAppender {
  private readonly lastIds = new BoundedMap<string, string | null>(CACHE_ENTRIES);
  private readonly memberStates = new BoundedMap<string, number | null>(CACHE_ENTRIES);
  private dataVersion = -1;

  constructor(
    private readonly q: SqliteStatements,
    private readonly outbox: SqliteWebhookOutbox,
    private readonly allocate: AllocateMsgId,
  ) {}

  /** Empties the caches if another connection has committed since this one last looked. */
  checkDataVersion(): void {
    const version = this.q.dataVersion.get() as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.forget();
  }

  /** Drops everything cached (a transaction that wrote to the caches rolled back). */
  forget(): void {
    this.lastIds.clear();
    this.memberStates.clear();
  }

  /** Drops the session's cached member state: call before changing its member row. */
  forgetMember(conversationId: string, session: string): void {
    this.memberStates.delete(memberKey(conversationId, session));
  }

  /**
   * Runs inside a group commit: an earlier append of the same batch is already visible, so a
   * key used twice in one batch stores one message.
   */
  append(draft: MessageDraft, checkMember: boolean): AppendResult {
    const key = memberKey(draft.conversationId, draft.fromSession);
    let state = this.memberStates.get(key);
    let last = this.lastIds.get(draft.conversationId);
    if (state === undefined || last === undefined) {
      const row = this.q.appendCheck.get(draft.fromSession, draft.conversationId);
      if (!row) return { kind: 'not-found' };
      state = row.state;
      last = row.last_msg_id;
      this.memberStates.set(key, state);
      this.lastIds.set(draft.conversationId, last);
    }
    if (checkMember && state !== MemberState.Member) return { kind: 'not-member' };
    const clientMsgId = draft.clientMsgId;
    const sentMs = Math.floor(draft.sendTime / 1000);
    if (clientMsgId !== undefined) {
      const first = this.q.keyedMessage.get(
        draft.conversationId,
        draft.fromSession,
        clientMsgId,
        sentMs - CLIENT_MSG_ID_TTL_MS,
      );
      if (first) return { kind: 'duplicate', message: first };
    }
    const msgId = this.allocate(last);
    this.q.insertMessage.run(...messageRow(draft, msgId));
    if (clientMsgId !== undefined) {
      this.q.saveKey.run(draft.conversationId, draft.fromSession, clientMsgId, msgId, sentMs);
    }
    const result = appendedResult(draft, msgId, last);
    if (draft.event) this.outbox.insert(draft.event(result.message));
    this.lastIds.set(draft.conversationId, msgId);
    return result;
  }
}
