import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import { MAX_NODE_ID } from '../domain/msg-id.js';
import { PostgresAppender } from './postgres-appender.js';
import { PostgresDatabase } from './postgres-database.js';
import { PostgresConversations } from './postgres-conversations.js';
import { PostgresReadState } from './postgres-read-state.js';
import { PostgresRevocations } from './postgres-revocations.js';
import { PostgresWebhookOutbox } from './postgres-webhook-outbox.js';
import type { MembershipEventOf, OutboxDraft, OutboxEvent } from './webhook-outbox.js';
import type { Revocation } from './revocations.js';
import type { PostgresDatabaseOptions } from './postgres-database.js';
import {
  AFTER,
  BEFORE,
  DELETE_EXPIRED_CLIENT_MSG_IDS,
  DELETE_EXPIRED_POLL_CURSORS,
  LAST_MSG_ID,
  MISSED_REFS,
  NEWEST,
  OLDEST,
  POLL_CURSOR,
  RANGE_ASC,
  RANGE_DESC,
  SAVE_POLL_CURSOR,
} from './postgres-statements.js';
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

export interface PostgresStoreOptions extends PostgresDatabaseOptions {
  /** Builds the allocator of this node's MsgIds once its number is claimed from the database. */
  readonly allocatorFor: (nodeNumber: number) => AllocateMsgId;
}

/** The shared store for several nodes: PostgreSQL through a `pg` pool. */
export class PostgresStore implements Store {
  private readonly appender: PostgresAppender;
  private readonly conversations: PostgresConversations;
  private readonly readState: PostgresReadState;
  private readonly revocations: PostgresRevocations;
  private readonly outbox: PostgresWebhookOutbox;

  private constructor(
    private readonly db: PostgresDatabase,
    /** A number no other node that started on this database has (modulo `MAX_NODE_ID + 1`). */
    readonly nodeNumber: number,
    allocate: AllocateMsgId,
  ) {
    this.appender = new PostgresAppender(db, allocate);
    this.conversations = new PostgresConversations(db);
    this.readState = new PostgresReadState(db);
    this.revocations = new PostgresRevocations(db);
    this.outbox = new PostgresWebhookOutbox(db);
  }

  /**
   * Connects, runs pending migrations and claims this node's number; rejects when the database
   * cannot be reached.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const db = new PostgresDatabase(options);
    let nodeNumber: number;
    try {
      await db.migrate();
      const [row] = await db.rows<{ n: number }>("SELECT nextval('quickim_node_numbers') AS n", []);
      nodeNumber = (row?.n ?? 0) % (MAX_NODE_ID + 1);
    } catch (err) {
      await db.end().catch(() => {});
      throw err;
    }
    return new PostgresStore(db, nodeNumber, options.allocatorFor(nodeNumber));
  }

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): Promise<void> {
    return this.conversations.createConversation(conversationId, type, sessions, event);
  }

  getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    return this.conversations.getConversation(conversationId);
  }

  isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    return this.conversations.isMember(conversationId, session);
  }

  joinedConversations(session: string): Promise<string[]> {
    return this.conversations.joinedConversations(session);
  }

  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult> {
    return this.conversations.joinBySelf(conversationId, session, event);
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.conversations.joinByInner(conversationId, sessions, event);
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.conversations.kick(conversationId, sessions, event);
  }

  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined> {
    return this.conversations.leave(conversationId, session, event);
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    return this.conversations.setArchived(conversationIds, isArchive);
  }

  /** See `PostgresAppender`: one round trip when this node stored the conversation's last id. */
  appendMessage(draft: MessageDraft): Promise<AppendResult> {
    return this.appender.append(draft);
  }

  appendUnchecked(draft: MessageDraft): Promise<UncheckedAppendResult> {
    return this.appender.appendUnchecked(draft) as Promise<UncheckedAppendResult>;
  }

  async lastMsgId(conversationId: string): Promise<string | null> {
    const [row] = await this.db.rows<{ last_msg_id: string | null }>(LAST_MSG_ID, [conversationId]);
    return row?.last_msg_id ?? null;
  }

  async messagesBefore(
    conversationId: string,
    msgId: string | null,
    limit: number,
  ): Promise<Message[]> {
    const rows = await (msgId === null
      ? this.db.rows<Message>(NEWEST, [conversationId, limit])
      : this.db.rows<Message>(BEFORE, [conversationId, limit, msgId]));
    return rows.reverse();
  }

  messagesAfter(conversationId: string, msgId: string | null, limit: number): Promise<Message[]> {
    return msgId === null
      ? this.db.rows<Message>(OLDEST, [conversationId, limit])
      : this.db.rows<Message>(AFTER, [conversationId, limit, msgId]);
  }

  rangeFromStart(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]> {
    return this.db.rows<Message>(RANGE_ASC, [conversationId, limit, startId, endId]);
  }

  async rangeFromEnd(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]> {
    const rows = await this.db.rows<Message>(RANGE_DESC, [conversationId, limit, startId, endId]);
    return rows.reverse();
  }

  async missedMessageRefs(session: string, afterId: string, limit: number): Promise<MessageRef[]> {
    const rows = await this.db.rows<MessageRef>(MISSED_REFS, [session, afterId, limit]);
    return rows.reverse();
  }

  async savePollCursor(
    session: string,
    platform: number,
    msgId: string,
    atMs: number,
  ): Promise<void> {
    await this.db.rows(SAVE_POLL_CURSOR, [session, platform, msgId, atMs]);
  }

  async pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null> {
    const [row] = await this.db.rows<{ msg_id: string }>(POLL_CURSOR, [session, platform, sinceMs]);
    return row?.msg_id ?? null;
  }

  async deleteExpiredPollCursors(beforeMs: number): Promise<number> {
    const { rowCount } = await this.db.query(DELETE_EXPIRED_POLL_CURSORS, [beforeMs]);
    return rowCount ?? 0;
  }

  revoke(session: string, platform: number | null, revokedBefore: number): Promise<number> {
    return this.revocations.revoke(session, platform, revokedBefore);
  }

  revocationsSince(sinceSec: number): Promise<Revocation[]> {
    return this.revocations.revocationsSince(sinceSec);
  }

  deleteRevocationsBefore(beforeSec: number): Promise<number> {
    return this.revocations.deleteRevocationsBefore(beforeSec);
  }

  markRead(conversationId: string, session: string, msgId: string): Promise<MarkReadResult> {
    return this.readState.markRead(conversationId, session, msgId);
  }

  conversationSummaries(session: string): Promise<ConversationSummary[]> {
    return this.readState.conversationSummaries(session);
  }

  memberCursors(
    conversationId: string,
    after: string | null,
    limit: number,
  ): Promise<MemberCursor[] | undefined> {
    return this.readState.memberCursors(conversationId, after, limit);
  }

  async deleteExpiredClientMsgIds(beforeMs: number): Promise<number> {
    const { rowCount } = await this.db.query(DELETE_EXPIRED_CLIENT_MSG_IDS, [beforeMs]);
    return rowCount ?? 0;
  }

  leaseWebhookEvents(
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
    limit: number,
  ): Promise<OutboxEvent[]> {
    return this.outbox.lease(owner, nowMs, leaseUntilMs, limit);
  }

  deleteWebhookEvent(id: string): Promise<void> {
    return this.outbox.delete(id);
  }

  retryWebhookEvent(id: string, attempts: number, nextAttemptAtMs: number): Promise<void> {
    return this.outbox.retry(id, attempts, nextAttemptAtMs);
  }

  countWebhookEvents(): Promise<number> {
    return this.outbox.count();
  }

  async ping(): Promise<void> {
    await this.db.rows('SELECT 1', []);
  }

  close(): Promise<void> {
    return this.db.end();
  }
}
