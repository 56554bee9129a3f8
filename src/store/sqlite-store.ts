import Database from 'better-sqlite3';
import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import { BoundedMap } from './bounded-map.js';
import { MemberState } from './member-state.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { makeSqliteFilesPrivate } from './sqlite-file-modes.js';
import { SqliteGroupCommit } from './sqlite-group-commit.js';
import { markReadTx, summariesOf } from './sqlite-read-state.js';
import { conversationDetail, prepareStatements, settle } from './sqlite-statements.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { SqliteRevocations } from './sqlite-revocations.js';
import { SqliteWebhookOutbox } from './sqlite-webhook-outbox.js';
import type { MembershipEventOf, OutboxDraft, OutboxEvent } from './webhook-outbox.js';
import type { Revocation } from './revocations.js';
import { SqliteWalControl } from './sqlite-wal-control.js';
import type { WalControlOptions } from './sqlite-wal-control.js';
import { CLIENT_MSG_ID_TTL_MS, appendedResult } from './store.js';
import type {
  AllocateMsgId,
  AppendResult,
  ConversationSummary,
  MarkReadResult,
  MemberCursor,
  MessageDraft,
  MessageRef,
  SelfJoinResult,
  Store,
  UncheckedAppendResult,
} from './store.js';

const { Member, Kicked } = MemberState;

/** Entries in each of the store's caches of conversation state (oldest dropped first). */
const CACHE_ENTRIES = 100_000;

const memberKey = (conversationId: string, session: string): string =>
  `${conversationId}\u0000${session}`;

export interface SqliteStoreOptions extends WalControlOptions {
  /** Allocates each appended message's id. */
  readonly allocator: AllocateMsgId;
  /**
   * Most writes one group commit holds (default 1,000): writes arriving in one event-loop turn
   * commit together at its end, or in commits of this many.
   */
  readonly commitMaxWrites?: number;
}

/** The newest `limit` of two ascending lists, merged ascending. */
function newestOf(a: readonly MessageRef[], b: readonly MessageRef[], limit: number): MessageRef[] {
  const out: MessageRef[] = [];
  let i = a.length - 1;
  let j = b.length - 1;
  while (out.length < limit && (i >= 0 || j >= 0)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.msgId > y.msgId)) {
      out.push(x as MessageRef);
      i--;
    } else {
      out.push(y);
      j--;
    }
  }
  return out.reverse();
}

/** The embedded store: one SQLite file in WAL mode, every query a prepared statement. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly q: SqliteStatements;
  private readonly revocations: SqliteRevocations;
  private readonly outbox: SqliteWebhookOutbox;
  private readonly allocate: AllocateMsgId;
  private readonly commits: SqliteGroupCommit;
  private readonly wal: SqliteWalControl;
  /**
   * What appends need to know, kept from earlier appends: each conversation's newest MsgId and
   * each (conversation, session)'s member state (null: no member row). This connection writes
   * every change to them; a commit by any other connection (`data_version`) empties both.
   */
  private readonly lastIds = new BoundedMap<string, string | null>(CACHE_ENTRIES);
  private readonly memberStates = new BoundedMap<string, number | null>(CACHE_ENTRIES);
  private dataVersion = -1;

  /** Opens (creating if needed, mode 0600) the database at `path` and runs pending migrations. */
  constructor(path: string, options: SqliteStoreOptions) {
    this.allocate = options.allocator;
    makeSqliteFilesPrivate(path);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives the process being killed; only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.commits = new SqliteGroupCommit(this.db, options.commitMaxWrites ?? 1000, {
      beforeWrite: () => this.checkDataVersion(),
      onRollback: () => this.forget(),
      onCommit: () => this.wal.committed(),
    });
    this.wal = new SqliteWalControl(this.db, path, this.commits, options);
    this.migrate();
    this.q = prepareStatements(this.db);
    this.revocations = new SqliteRevocations(this.db);
    this.outbox = new SqliteWebhookOutbox(this.db);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < sqliteMigrations.length; v++) {
      this.db.transaction(() => {
        this.db.exec(sqliteMigrations[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private run<T>(fn: () => T): Promise<T> {
    return settle(this.db, fn);
  }

  /** Empties the caches if another connection has committed since this one last looked. */
  private checkDataVersion(): void {
    const version = this.q.dataVersion.get() as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.forget();
  }

  private forget(): void {
    this.lastIds.clear();
    this.memberStates.clear();
  }

  /** Sets members' state, dropping what the cache knew of them (even if the transaction rolls back). */
  private setMemberState(
    conversationId: string,
    sessions: readonly string[],
    state: MemberState,
  ): void {
    for (const s of sessions) {
      this.memberStates.delete(memberKey(conversationId, s));
      this.q.upsertMember.run(conversationId, s, state);
    }
  }

  /** Makes sessions members, each new one with the conversation's last id as its cursor. */
  private admit(conversationId: string, sessions: readonly string[]): void {
    const last = this.q.lastMsgId.get(conversationId)?.last_msg_id ?? null;
    for (const s of sessions) {
      this.memberStates.delete(memberKey(conversationId, s));
      this.q.joinMember.run(conversationId, s, last);
    }
  }

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        this.q.insertConversation.run(conversationId, type);
        this.admit(conversationId, sessions);
        if (event) this.outbox.insert(event);
      })(),
    );
  }

  getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    return this.run(() => conversationDetail(this.q.getConversation.get(conversationId)));
  }

  isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    return this.run(() => {
      const row = this.q.appendCheck.get(session, conversationId);
      if (!row) return undefined;
      return row.state === Member;
    });
  }

  joinedConversations(session: string): Promise<string[]> {
    return this.run(() => this.q.joined.all(session).map((r) => r.conversation_id));
  }

  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult> {
    return this.run(() =>
      this.db.transaction((): SelfJoinResult => {
        const row = this.q.appendCheck.get(session, conversationId);
        if (!row) return 'not-found';
        if (row.state === Kicked) return 'kicked';
        if (row.state === Member) return 'already-member';
        this.admit(conversationId, [session]);
        if (event) this.outbox.insert(event([session]));
        return 'joined';
      })(),
    );
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.changeMembers(conversationId, sessions, true, event, (changed) =>
      this.admit(conversationId, changed),
    );
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.changeMembers(conversationId, sessions, false, event, () =>
      this.setMemberState(conversationId, [...new Set(sessions)], Kicked),
    );
  }

  /**
   * Runs `change` in a transaction if the conversation exists; resolves with the sessions whose
   * membership it changes (not members before, when `joining`; members before, otherwise),
   * with `event` of those in the outbox when there are any.
   */
  private changeMembers(
    conversationId: string,
    sessions: readonly string[],
    joining: boolean,
    event: MembershipEventOf | undefined,
    change: (changed: string[]) => void,
  ): Promise<string[] | undefined> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return undefined;
        const changed = [...new Set(sessions)].filter(
          (s) => (this.q.appendCheck.get(s, conversationId)?.state === Member) !== joining,
        );
        change(changed);
        if (event && changed.length > 0) this.outbox.insert(event(changed));
        return changed;
      })(),
    );
  }

  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return undefined;
        this.memberStates.delete(memberKey(conversationId, session));
        const left = this.q.leave.run(conversationId, session).changes > 0;
        if (left && event) this.outbox.insert(event([session]));
        return left;
      })(),
    );
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    return this.run(() =>
      this.db.transaction(() => {
        const missing = conversationIds.filter((id) => !this.q.exists.get(id));
        if (missing.length > 0) return [...new Set(missing)];
        for (const id of conversationIds) this.q.setArchive.run(isArchive ? 1 : 0, id);
        return [];
      })(),
    );
  }

  /** Joins the group commit (see `SqliteGroupCommit`); resolves after that commit. */
  appendMessage(draft: MessageDraft): Promise<AppendResult> {
    return this.commits.enqueue(() => this.appendTx(draft, true));
  }

  appendUnchecked(draft: MessageDraft): Promise<UncheckedAppendResult> {
    return this.commits.enqueue(() => this.appendTx(draft, false) as UncheckedAppendResult);
  }

  /**
   * Runs inside a group commit: an earlier append of the same batch is already visible, so a
   * key used twice in one batch stores one message.
   */
  private appendTx(draft: MessageDraft, checkMember: boolean): AppendResult {
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
    if (checkMember && state !== Member) return { kind: 'not-member' };
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
    this.q.insertMessage.run(
      draft.conversationId,
      msgId,
      draft.fromSession,
      draft.sendTime,
      draft.status,
      draft.type,
      draft.content,
    );
    if (clientMsgId !== undefined) {
      this.q.saveKey.run(draft.conversationId, draft.fromSession, clientMsgId, msgId, sentMs);
    }
    const result = appendedResult(draft, msgId, last);
    if (draft.event) this.outbox.insert(draft.event(result.message));
    this.lastIds.set(draft.conversationId, msgId);
    return result;
  }

  lastMsgId(conversationId: string): Promise<string | null> {
    return this.run(() => this.q.lastMsgId.get(conversationId)?.last_msg_id ?? null);
  }

  messagesBefore(conversationId: string, msgId: string | null, limit: number): Promise<Message[]> {
    return this.run(() =>
      (msgId === null
        ? this.q.newest.all(conversationId, limit)
        : this.q.before.all(conversationId, msgId, limit)
      ).reverse(),
    );
  }

  messagesAfter(conversationId: string, msgId: string | null, limit: number): Promise<Message[]> {
    return this.run(() =>
      msgId === null
        ? this.q.oldest.all(conversationId, limit)
        : this.q.after.all(conversationId, msgId, limit),
    );
  }

  rangeFromStart(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]> {
    return this.run(() => this.q.rangeAsc.all(conversationId, startId, endId, limit));
  }

  rangeFromEnd(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]> {
    return this.run(() => this.q.rangeDesc.all(conversationId, startId, endId, limit).reverse());
  }

  /**
   * One bounded index read per conversation; once `limit` refs are kept, each later read starts
   * above the oldest kept, so it reads only ids that displace one.
   */
  missedMessageRefs(session: string, afterId: string, limit: number): Promise<MessageRef[]> {
    return this.run(() => {
      let kept: MessageRef[] = [];
      for (const { conversation_id: conversationId } of this.q.joined.all(session)) {
        const oldest = kept.length >= limit ? (kept[0] as MessageRef).msgId : afterId;
        const ids = this.q.newestIdsAfter.all(conversationId, oldest, limit);
        if (ids.length === 0) continue;
        const refs = ids.reverse().map((msgId) => ({ msgId, conversationId }));
        kept = newestOf(kept, refs, limit);
      }
      return kept;
    });
  }

  /** Joins the appends' group commit: a poll answer costs no commit of its own. */
  savePollCursor(session: string, platform: number, msgId: string, atMs: number): Promise<void> {
    return this.commits.enqueue(() => {
      this.q.savePollCursor.run(session, platform, msgId, atMs);
    });
  }

  pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null> {
    return this.run(() => this.q.pollCursor.get(session, platform, sinceMs)?.msg_id ?? null);
  }

  /** Joins the group commit, so it follows every cursor saved before it was called. */
  deleteExpiredPollCursors(beforeMs: number): Promise<number> {
    return this.commits.enqueue(() => this.q.deleteExpiredPollCursors.run(beforeMs).changes);
  }

  revoke(session: string, platform: number | null, revokedBefore: number): Promise<number> {
    return this.run(() => this.revocations.revoke(session, platform, revokedBefore));
  }

  revocationsSince(sinceSec: number): Promise<Revocation[]> {
    return this.run(() => this.revocations.revocationsSince(sinceSec));
  }

  deleteRevocationsBefore(beforeSec: number): Promise<number> {
    return this.run(() => this.revocations.deleteRevocationsBefore(beforeSec));
  }

  markRead(conversationId: string, session: string, msgId: string): Promise<MarkReadResult> {
    return this.run(() =>
      this.db.transaction(() => markReadTx(this.q, conversationId, session, msgId))(),
    );
  }

  conversationSummaries(session: string): Promise<ConversationSummary[]> {
    return this.run(() => this.db.transaction(() => summariesOf(this.q, session))());
  }

  memberCursors(
    conversationId: string,
    after: string | null,
    limit: number,
  ): Promise<MemberCursor[] | undefined> {
    return this.run(() =>
      this.db.transaction(() => {
        if (!this.q.exists.get(conversationId)) return undefined;
        return this.q.memberCursors
          .all(conversationId, after ?? '', limit)
          .map((r) => ({ session: r.session, readMsgId: r.read_msg_id }));
      })(),
    );
  }

  /** Joins the group commit, so it follows every append queued before it was called. */
  deleteExpiredClientMsgIds(beforeMs: number): Promise<number> {
    return this.commits.enqueue(() => this.q.deleteExpiredKeys.run(beforeMs).changes);
  }

  leaseWebhookEvents(
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
    limit: number,
  ): Promise<OutboxEvent[]> {
    return this.run(() => this.outbox.lease(owner, nowMs, leaseUntilMs, limit));
  }

  /** Joins the group commit: deliveries under load share the appends' commits. */
  deleteWebhookEvent(id: string): Promise<void> {
    return this.commits.enqueue(() => this.outbox.delete(id));
  }

  retryWebhookEvent(id: string, attempts: number, nextAttemptAtMs: number): Promise<void> {
    return this.commits.enqueue(() => this.outbox.retry(id, attempts, nextAttemptAtMs));
  }

  countWebhookEvents(): Promise<number> {
    return this.run(() => this.outbox.count());
  }

  ping(): Promise<void> {
    return this.run(() => {
      this.q.ping.get();
    });
  }

  async close(): Promise<void> {
    // Appends already accepted are committed, not failed, by a close.
    this.commits.flush();
    await this.wal.close();
    if (this.db.open) this.db.close();
  }
}
