import Database from 'better-sqlite3';
import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { SqliteAppender } from './sqlite-appender.js';
import { makeSqliteFilesPrivate } from './sqlite-file-modes.js';
import { SqliteGroupCommit } from './sqlite-group-commit.js';
import { SqliteConversations } from './sqlite-conversations.js';
import { markReadTx, memberCursorsOf, summariesOf } from './sqlite-read-state.js';
import { missedRefsOf } from './sqlite-missed-refs.js';
import { prepareStatements, settle } from './sqlite-statements.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { SqliteRevocations } from './sqlite-revocations.js';
import { SqliteWebhookOutbox } from './sqlite-webhook-outbox.js';
import type { MembershipEventOf, OutboxDraft, OutboxEvent } from './webhook-outbox.js';
import type { Revocation } from './revocations.js';
import { SqliteWalControl } from './sqlite-wal-control.js';
import type { WalControlOptions } from './sqlite-wal-control.js';
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

export interface SqliteStoreOptions extends WalControlOptions {
  /** Allocates each appended message's id. */
  readonly allocator: AllocateMsgId;
  /**
   * Most writes one group commit holds (default 1,000): writes arriving in one event-loop turn
   * commit together at its end, or in commits of this many.
   */
  readonly commitMaxWrites?: number;
}

/** The embedded store: one SQLite file in WAL mode, every query a prepared statement. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly q: SqliteStatements;
  private readonly revocations: SqliteRevocations;
  private readonly outbox: SqliteWebhookOutbox;
  private readonly appender: SqliteAppender;
  private readonly conversations: SqliteConversations;
  private readonly commits: SqliteGroupCommit;
  private readonly wal: SqliteWalControl;

  /** Opens (creating if needed, mode 0600) the database at `path` and runs pending migrations. */
  constructor(path: string, options: SqliteStoreOptions) {
    makeSqliteFilesPrivate(path);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives the process being killed; only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.commits = new SqliteGroupCommit(this.db, options.commitMaxWrites ?? 1000, {
      beforeWrite: () => this.appender.checkDataVersion(),
      onRollback: () => this.appender.forget(),
      onCommit: () => this.wal.committed(),
    });
    this.wal = new SqliteWalControl(this.db, path, this.commits, options);
    this.migrate();
    this.q = prepareStatements(this.db);
    this.revocations = new SqliteRevocations(this.db);
    this.outbox = new SqliteWebhookOutbox(this.db);
    this.appender = new SqliteAppender(this.q, this.outbox, options.allocator);
    this.conversations = new SqliteConversations(this.db, this.q, this.outbox, this.appender);
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

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): Promise<void> {
    return this.run(() =>
      this.conversations.createConversation(conversationId, type, sessions, event),
    );
  }

  getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    return this.run(() => this.conversations.getConversation(conversationId));
  }

  isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    return this.run(() => this.conversations.isMember(conversationId, session));
  }

  joinedConversations(session: string): Promise<string[]> {
    return this.run(() => this.conversations.joinedConversations(session));
  }

  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult> {
    return this.run(() => this.conversations.joinBySelf(conversationId, session, event));
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.run(() => this.conversations.joinByInner(conversationId, sessions, event));
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.run(() => this.conversations.kick(conversationId, sessions, event));
  }

  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined> {
    return this.run(() => this.conversations.leave(conversationId, session, event));
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    return this.run(() => this.conversations.setArchived(conversationIds, isArchive));
  }

  /** Joins the group commit (see `SqliteGroupCommit`); resolves after that commit. */
  appendMessage(draft: MessageDraft): Promise<AppendResult> {
    return this.commits.enqueue(() => this.appender.append(draft, true));
  }

  appendUnchecked(draft: MessageDraft): Promise<UncheckedAppendResult> {
    return this.commits.enqueue(() => this.appender.append(draft, false) as UncheckedAppendResult);
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

  missedMessageRefs(session: string, afterId: string, limit: number): Promise<MessageRef[]> {
    return this.run(() => missedRefsOf(this.q, session, afterId, limit));
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
      this.db.transaction(() => memberCursorsOf(this.q, conversationId, after, limit))(),
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
