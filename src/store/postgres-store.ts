import pg from 'pg';
import type { PoolClient, QueryConfig, QueryResultRow } from 'pg';
import type { ConversationDetail } from '../domain/conversation.js';
import { UnavailableError } from '../domain/errors.js';
import type { Message } from '../domain/message.js';
import { postgresMigrations } from './migrations/postgres.js';
import { appendedResult } from './store.js';
import type {
  AllocateMsgId,
  AppendResult,
  HistoryDirection,
  MessageDraft,
  SelfJoinResult,
  Store,
} from './store.js';

const MEMBER = 0;
const LEFT = 1;
const KICKED = 2;
// Serializes migrations of several nodes starting at once.
const MIGRATION_LOCK = 7_401_335;

const messageColumns = `msg_id AS "MsgId", conversation_id AS "ConversationID", from_session AS "FromSession",
  send_time AS "SendTime", status AS "Status", type AS "Type", content AS "Content"`;

// BIGINT columns (microsecond times) fit a double exactly; everything else as pg parses it.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  readonly url: string;
  /** Longest wait for a connection or a query before it fails as unavailable. */
  readonly timeoutMs: number;
  readonly poolSize?: number;
  readonly onError?: (err: Error) => void;
}

/** Errors that mean the database cannot answer now, as opposed to a bad statement. */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^(08|53|57|58)/.test(code)) return true; // connection, resources, shutdown, system
  if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, …
  const message = typeof e.message === 'string' ? e.message : '';
  return /timeout|terminat|Connection|connect|pool/i.test(message);
}

const statementNames = new Map<string, string>();

/**
 * A query as a named prepared statement: each pooled connection parses and plans a statement
 * text once, then only binds and executes it (the statements are the fixed texts below, so the
 * names stay few). In the cluster bench, parsing and planning the append's CTE each time was a
 * good part of PostgreSQL's CPU per message (663 -> 398 us per publish with named statements).
 */
function prepared(text: string, values: readonly unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `qim_${statementNames.size + 1}`));
  return { name, text, values: values as unknown[] };
}

/** Conversations whose newest MsgId a node keeps for its one-statement appends. */
const LAST_ID_ENTRIES = 100_000;

/*
 * The append statements, built once: they run on every send, and `prepared` looks each text
 * up by value. `$1`…`$7` are `draftValues`.
 */
/** Appends if `$8` is still the conversation's newest id and the sender still a member. */
const APPEND_AFTER = `WITH c AS (
    UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3
    WHERE id = $1 AND last_msg_id IS NOT DISTINCT FROM $8::text
      AND EXISTS (SELECT 1 FROM members
                  WHERE conversation_id = $1 AND session = $3 AND state = ${MEMBER})
    RETURNING id)
  INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
  SELECT $1, $2, $3, $4, $5, $6, $7 FROM c
  RETURNING 1 AS one`;
/** Locks the conversation and reads its newest id and the sender's membership. */
const LOCK_FOR_APPEND = `SELECT c.last_msg_id, m.state FROM conversations c
  LEFT JOIN members m ON m.conversation_id = c.id AND m.session = $2
  WHERE c.id = $1 FOR UPDATE OF c`;
/** Appends under that lock. */
const APPEND_LOCKED = `WITH m AS (
    INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
    VALUES ($1, $2, $3, $4, $5, $6, $7))
  UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3 WHERE id = $1`;

/** `$1`…`$7` of both append statements. */
function draftValues(draft: MessageDraft, msgId: string): unknown[] {
  return [
    draft.conversationId,
    msgId,
    draft.fromSession,
    draft.sendTime,
    draft.status,
    draft.type,
    draft.content,
  ];
}

/** The shared store for several nodes: PostgreSQL through a `pg` pool. */
export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  /**
   * Per conversation, the newest MsgId this node stored: a guess, which the one-statement
   * append checks under the row lock (another node may have appended since).
   */
  private readonly lastIds = new Map<string, string>();

  private constructor(options: PostgresStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      statement_timeout: options.timeoutMs,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  /** Connects and runs pending migrations; rejects when the database cannot be reached. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS quickim_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM quickim_schema',
      );
      for (let v = rows[0]?.v ?? 0; v < postgresMigrations.length; v++) {
        await client.query('BEGIN');
        await client.query(postgresMigrations[v] as string);
        await client.query('INSERT INTO quickim_schema (version) VALUES ($1)', [v + 1]);
        await client.query('COMMIT');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
  }

  private unavailable(err: unknown): never {
    if (isUnavailable(err)) throw new UnavailableError('store unavailable');
    throw err;
  }

  private async rows<R extends QueryResultRow>(
    text: string,
    values: readonly unknown[],
  ): Promise<R[]> {
    try {
      return (await this.pool.query<R>(prepared(text, values))).rows;
    } catch (err) {
      return this.unavailable(err);
    }
  }

  /** Runs `fn` in a transaction on one pooled client; rolls back on any failure. */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return this.unavailable(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = isUnavailable(err);
      // A connection that timed out or broke would make ROLLBACK wait out a second timeout;
      // destroying it (release(true)) rolls the transaction back on the server instead.
      if (!broken) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      return this.unavailable(err);
    } finally {
      client.release(broken);
    }
  }

  private static async exists(
    c: PoolClient,
    conversationId: string,
    lock = false,
  ): Promise<boolean> {
    const { rowCount } = await c.query(
      `SELECT 1 FROM conversations WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [conversationId],
    );
    return rowCount === 1;
  }

  private static async setState(
    c: PoolClient,
    conversationId: string,
    sessions: readonly string[],
    state: number,
  ): Promise<void> {
    if (sessions.length === 0) return;
    await c.query(
      `INSERT INTO members (conversation_id, session, state)
       SELECT $1, s, $3 FROM unnest($2::text[]) AS s
       ON CONFLICT (conversation_id, session) DO UPDATE SET state = excluded.state`,
      [conversationId, [...new Set(sessions)], state],
    );
  }

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
  ): Promise<void> {
    return this.tx(async (c) => {
      await c.query('INSERT INTO conversations (id, type) VALUES ($1, $2)', [conversationId, type]);
      await PostgresStore.setState(c, conversationId, sessions, MEMBER);
    });
  }

  async getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    const [row] = await this.rows<{
      id: string;
      type: number;
      is_archive: boolean;
      last_msg_id: string | null;
      last_send_time: number | null;
      last_send_session: string | null;
    }>('SELECT * FROM conversations WHERE id = $1', [conversationId]);
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
    const [row] = await this.rows<{ state: number | null }>(
      `SELECT m.state FROM conversations c
       LEFT JOIN members m ON m.conversation_id = c.id AND m.session = $2 WHERE c.id = $1`,
      [conversationId, session],
    );
    return row ? row.state === MEMBER : undefined;
  }

  async joinedConversations(session: string): Promise<string[]> {
    const rows = await this.rows<{ conversation_id: string }>(
      `SELECT conversation_id FROM members WHERE session = $1 AND state = ${MEMBER} ORDER BY seq`,
      [session],
    );
    return rows.map((r) => r.conversation_id);
  }

  async members(conversationId: string): Promise<string[]> {
    const rows = await this.rows<{ session: string }>(
      `SELECT session FROM members WHERE conversation_id = $1 AND state = ${MEMBER} ORDER BY seq`,
      [conversationId],
    );
    return rows.map((r) => r.session);
  }

  joinBySelf(conversationId: string, session: string): Promise<SelfJoinResult> {
    return this.tx(async (c) => {
      if (!(await PostgresStore.exists(c, conversationId, true))) return 'not-found';
      const { rows } = await c.query<{ state: number }>(
        'SELECT state FROM members WHERE conversation_id = $1 AND session = $2',
        [conversationId, session],
      );
      const state = rows[0]?.state;
      if (state === KICKED) return 'kicked';
      if (state !== MEMBER) await PostgresStore.setState(c, conversationId, [session], MEMBER);
      return 'joined';
    });
  }

  joinByInner(conversationId: string, sessions: readonly string[]): Promise<boolean> {
    return this.setMembers(conversationId, sessions, MEMBER);
  }

  kick(conversationId: string, sessions: readonly string[]): Promise<boolean> {
    return this.setMembers(conversationId, sessions, KICKED);
  }

  private setMembers(
    conversationId: string,
    sessions: readonly string[],
    state: number,
  ): Promise<boolean> {
    return this.tx(async (c) => {
      if (!(await PostgresStore.exists(c, conversationId, true))) return false;
      await PostgresStore.setState(c, conversationId, sessions, state);
      return true;
    });
  }

  leave(conversationId: string, session: string): Promise<boolean> {
    return this.tx(async (c) => {
      if (!(await PostgresStore.exists(c, conversationId, true))) return false;
      await c.query(
        `UPDATE members SET state = ${LEFT} WHERE conversation_id = $1 AND session = $2 AND state = ${MEMBER}`,
        [conversationId, session],
      );
      return true;
    });
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    const ids = [...new Set(conversationIds)];
    return this.tx(async (c) => {
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

  /**
   * Stores a message. When this node knows the conversation's newest MsgId (it stored it),
   * one statement appends if that is still the newest and the sender still a member — one
   * round trip instead of four. Otherwise, or when the guess was wrong (another node appended
   * since, the sender left, the conversation is gone), the locked transaction decides.
   */
  async appendMessage(draft: MessageDraft, allocate: AllocateMsgId): Promise<AppendResult> {
    const guess = this.lastIds.get(draft.conversationId);
    if (guess !== undefined) {
      const msgId = allocate(guess);
      const appended = await this.rows<{ one: number }>(APPEND_AFTER, [
        ...draftValues(draft, msgId),
        guess,
      ]);
      if (appended.length === 1) {
        this.rememberLast(draft.conversationId, msgId);
        return appendedResult(draft, msgId, guess);
      }
      this.lastIds.delete(draft.conversationId);
    }
    const result = await this.lockedAppend(draft, allocate);
    if (result.kind === 'appended') this.rememberLast(draft.conversationId, result.message.MsgId);
    return result;
  }

  private rememberLast(conversationId: string, msgId: string): void {
    if (this.lastIds.size >= LAST_ID_ENTRIES && !this.lastIds.has(conversationId)) {
      const oldest = this.lastIds.keys().next();
      if (oldest.done !== true) this.lastIds.delete(oldest.value);
    }
    this.lastIds.set(conversationId, msgId);
  }

  /** The row lock orders appends per conversation: ids rise in commit order on every node. */
  private lockedAppend(draft: MessageDraft, allocate: AllocateMsgId): Promise<AppendResult> {
    return this.tx(async (c): Promise<AppendResult> => {
      const { rows } = await c.query<{ last_msg_id: string | null; state: number | null }>(
        prepared(LOCK_FOR_APPEND, [draft.conversationId, draft.fromSession]),
      );
      const row = rows[0];
      if (!row) return { kind: 'not-found' };
      if (row.state !== MEMBER) return { kind: 'not-member' };
      const msgId = allocate(row.last_msg_id);
      await c.query(prepared(APPEND_LOCKED, draftValues(draft, msgId)));
      return appendedResult(draft, msgId, row.last_msg_id);
    });
  }

  async lastMsgId(conversationId: string): Promise<string | null> {
    const [row] = await this.rows<{ last_msg_id: string | null }>(
      'SELECT last_msg_id FROM conversations WHERE id = $1',
      [conversationId],
    );
    return row?.last_msg_id ?? null;
  }

  async history(
    conversationId: string,
    direction: HistoryDirection,
    msgId: string | null,
    limit: number,
  ): Promise<Message[]> {
    const before = direction === 'before';
    const bound = msgId === null ? '' : `AND msg_id ${before ? '<' : '>'} $3`;
    const rows = await this.rows<Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = $1 ${bound}
       ORDER BY msg_id ${before ? 'DESC' : 'ASC'} LIMIT $2`,
      msgId === null ? [conversationId, limit] : [conversationId, limit, msgId],
    );
    return before ? rows.reverse() : rows;
  }

  async range(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
    fromEnd: boolean,
  ): Promise<Message[]> {
    const rows = await this.rows<Message>(
      `SELECT ${messageColumns} FROM messages
       WHERE conversation_id = $1 AND msg_id >= $2 AND msg_id <= $3
       ORDER BY msg_id ${fromEnd ? 'DESC' : 'ASC'} LIMIT $4`,
      [conversationId, startId, endId, limit],
    );
    return fromEnd ? rows.reverse() : rows;
  }

  async missedMessages(session: string, afterId: string, limit: number): Promise<Message[]> {
    const rows = await this.rows<Message>(
      `SELECT ${messageColumns} FROM messages
       WHERE conversation_id IN (SELECT conversation_id FROM members WHERE session = $1 AND state = ${MEMBER})
         AND msg_id > $2 ORDER BY msg_id DESC LIMIT $3`,
      [session, afterId, limit],
    );
    return rows.reverse();
  }

  /** A number no other node that started on this database has (modulo `modulo`). */
  async claimNodeNumber(modulo: number): Promise<number> {
    const [row] = await this.rows<{ n: number }>("SELECT nextval('quickim_node_numbers') AS n", []);
    return (row?.n ?? 0) % modulo;
  }

  async savePollCursor(
    session: string,
    platform: number,
    msgId: string,
    atMs: number,
  ): Promise<void> {
    await this.rows(
      `INSERT INTO poll_cursors (session, platform, msg_id, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (session, platform) DO UPDATE SET msg_id = excluded.msg_id, updated_at = excluded.updated_at`,
      [session, platform, msgId, atMs],
    );
  }

  async pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null> {
    const [row] = await this.rows<{ msg_id: string }>(
      'SELECT msg_id FROM poll_cursors WHERE session = $1 AND platform = $2 AND updated_at >= $3',
      [session, platform, sinceMs],
    );
    return row?.msg_id ?? null;
  }

  async ping(): Promise<void> {
    await this.rows('SELECT 1', []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
