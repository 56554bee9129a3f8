import type { PoolClient } from 'pg';
import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import { MAX_NODE_ID } from '../domain/msg-id.js';
import { MemberState } from './member-state.js';
import { PostgresAppender } from './postgres-appender.js';
import { PostgresDatabase } from './postgres-database.js';
import { PostgresRevocations } from './postgres-revocations.js';
import { PostgresWebhookOutbox, insertOutboxRow } from './postgres-webhook-outbox.js';
import type { MembershipEventOf, OutboxDraft, OutboxEvent } from './webhook-outbox.js';
import type { Revocation } from './revocations.js';
import type { PostgresDatabaseOptions } from './postgres-database.js';
import {
  ADMIT,
  AFTER,
  BEFORE,
  CONVERSATION_SUMMARIES,
  DELETE_EXPIRED_CLIENT_MSG_IDS,
  DELETE_EXPIRED_POLL_CURSORS,
  GET_CONVERSATION,
  IS_MEMBER,
  JOINED,
  LAST_MSG_ID,
  MARK_READ,
  MEMBER_CURSORS,
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

const { Member, Left, Kicked } = MemberState;

export interface PostgresStoreOptions extends PostgresDatabaseOptions {
  /** Builds the allocator of this node's MsgIds once its number is claimed from the database. */
  readonly allocatorFor: (nodeNumber: number) => AllocateMsgId;
}

async function exists(c: PoolClient, conversationId: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [
    conversationId,
  ]);
  return rowCount === 1;
}

async function setState(
  c: PoolClient,
  conversationId: string,
  sessions: readonly string[],
  state: MemberState,
): Promise<void> {
  if (sessions.length === 0) return;
  await c.query(
    `INSERT INTO members (conversation_id, session, state)
     SELECT $1, s, $3 FROM unnest($2::text[]) AS s
     ON CONFLICT (conversation_id, session) DO UPDATE SET state = excluded.state`,
    [conversationId, [...new Set(sessions)], state],
  );
}

/** Makes sessions members, each new one with the conversation's last id as its cursor. */
async function admit(
  c: PoolClient,
  conversationId: string,
  sessions: readonly string[],
): Promise<void> {
  if (sessions.length === 0) return;
  await c.query(ADMIT, [conversationId, [...new Set(sessions)]]);
}

/** The shared store for several nodes: PostgreSQL through a `pg` pool. */
export class PostgresStore implements Store {
  private readonly appender: PostgresAppender;
  private readonly revocations: PostgresRevocations;
  private readonly outbox: PostgresWebhookOutbox;

  private constructor(
    private readonly db: PostgresDatabase,
    /** A number no other node that started on this database has (modulo `MAX_NODE_ID + 1`). */
    readonly nodeNumber: number,
    allocate: AllocateMsgId,
  ) {
    this.appender = new PostgresAppender(db, allocate);
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
    return this.db.tx(async (c) => {
      await c.query('INSERT INTO conversations (id, type) VALUES ($1, $2)', [conversationId, type]);
      await admit(c, conversationId, sessions);
      if (event) await insertOutboxRow(c, event);
    });
  }

  async getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    const [row] = await this.db.rows<{
      id: string;
      type: number;
      is_archive: boolean;
      last_msg_id: string | null;
      last_send_time: number | null;
      last_send_session: string | null;
    }>(GET_CONVERSATION, [conversationId]);
    if (!row) return undefined;
    return {
      ConversationID: row.id,
      LastMsgID: row.last_msg_id,
      LastSendTime: row.last_send_time,
      IsDelete: false,
      ConversationType: row.type,
      LastSendSession: row.last_send_session,
      IsArchive: row.is_archive,
    };
  }

  async isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    const [row] = await this.db.rows<{ state: number | null }>(IS_MEMBER, [
      conversationId,
      session,
    ]);
    return row ? row.state === Member : undefined;
  }

  async joinedConversations(session: string): Promise<string[]> {
    const rows = await this.db.rows<{ conversation_id: string }>(JOINED, [session]);
    return rows.map((r) => r.conversation_id);
  }

  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return 'not-found';
      const { rows } = await c.query<{ state: number }>(
        'SELECT state FROM members WHERE conversation_id = $1 AND session = $2',
        [conversationId, session],
      );
      const state = rows[0]?.state;
      if (state === Kicked) return 'kicked';
      if (state === Member) return 'already-member';
      await admit(c, conversationId, [session]);
      if (event) await insertOutboxRow(c, event([session]));
      return 'joined';
    });
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.changeMembers(conversationId, sessions, true, event, (c, changed) =>
      admit(c, conversationId, changed),
    );
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.changeMembers(conversationId, sessions, false, event, (c) =>
      setState(c, conversationId, [...new Set(sessions)], Kicked),
    );
  }

  /**
   * Runs `change` with the conversation locked, if it exists; resolves with the sessions whose
   * membership it changes (not members before, when `joining`; members before, otherwise). The
   * conversation's row lock orders every membership change, so the read is current. `event`
   * of the changed sessions goes to the outbox when there are any.
   */
  private changeMembers(
    conversationId: string,
    sessions: readonly string[],
    joining: boolean,
    event: MembershipEventOf | undefined,
    change: (c: PoolClient, changed: string[]) => Promise<void>,
  ): Promise<string[] | undefined> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return undefined;
      const unique = [...new Set(sessions)];
      const { rows } = await c.query<{ session: string }>(
        `SELECT session FROM members
         WHERE conversation_id = $1 AND session = ANY($2::text[]) AND state = ${Member}`,
        [conversationId, unique],
      );
      const members = new Set(rows.map((r) => r.session));
      const changed = unique.filter((s) => members.has(s) !== joining);
      await change(c, changed);
      if (event && changed.length > 0) await insertOutboxRow(c, event(changed));
      return changed;
    });
  }

  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return undefined;
      const { rowCount } = await c.query(
        `UPDATE members SET state = ${Left} WHERE conversation_id = $1 AND session = $2 AND state = ${Member}`,
        [conversationId, session],
      );
      const left = (rowCount ?? 0) > 0;
      if (left && event) await insertOutboxRow(c, event([session]));
      return left;
    });
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    const ids = [...new Set(conversationIds)];
    return this.db.tx(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'SELECT id FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
        [ids],
      );
      const found = new Set(rows.map((r) => r.id));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length > 0) return missing;
      await c.query('UPDATE conversations SET is_archive = $2 WHERE id = ANY($1::text[])', [
        ids,
        isArchive,
      ]);
      return [];
    });
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

  async markRead(conversationId: string, session: string, msgId: string): Promise<MarkReadResult> {
    const [row] = await this.db.rows<{
      state: number | null;
      cursor: string | null;
      advanced_to: string | null;
    }>(MARK_READ, [conversationId, session, msgId]);
    if (!row) return { kind: 'not-found' };
    if (row.state !== Member) return { kind: 'not-member' };
    if (row.advanced_to === null) return { kind: 'read', readMsgId: row.cursor, advanced: false };
    return { kind: 'read', readMsgId: row.advanced_to, advanced: true };
  }

  async conversationSummaries(session: string): Promise<ConversationSummary[]> {
    const rows = await this.db.rows<{
      id: string;
      type: number;
      is_archive: boolean;
      last_msg_id: string | null;
      last_send_time: number | null;
      last_send_session: string | null;
      read_msg_id: string | null;
      unread: number;
    }>(CONVERSATION_SUMMARIES, [session]);
    return rows.map((r) => ({
      conversationId: r.id,
      type: r.type,
      isArchive: r.is_archive,
      lastMsgId: r.last_msg_id,
      lastSendTime: r.last_send_time,
      lastSendSession: r.last_send_session,
      readMsgId: r.read_msg_id,
      unread: r.unread,
    }));
  }

  async memberCursors(
    conversationId: string,
    after: string | null,
    limit: number,
  ): Promise<MemberCursor[] | undefined> {
    const rows = await this.db.rows<{ session: string | null; read_msg_id: string | null }>(
      MEMBER_CURSORS,
      [conversationId, after ?? '', limit],
    );
    if (rows.length === 0) return undefined;
    return rows.flatMap((r) =>
      r.session === null ? [] : [{ session: r.session, readMsgId: r.read_msg_id }],
    );
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
