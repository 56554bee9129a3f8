import type { QueryConfig } from 'pg';
import { MemberState } from './member-state.js';
import { MAX_UNREAD } from './store.js';

const { Member } = MemberState;

const statementNames = new Map<string, string>();

/**
 * A query as a named prepared statement: each pooled connection parses and plans a statement
 * text once, then only binds and executes it (the statements are the fixed texts below, so the
 * names stay few). In the cluster bench, parsing and planning the append's CTE each time was a
 * good part of PostgreSQL's CPU per message (663 -> 398 us per publish with named statements).
 */
export function prepared(text: string, values: readonly unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `qim_${statementNames.size + 1}`));
  return { name, text, values: values as unknown[] };
}

/*
 * Every statement is a constant, built once: `prepared` looks each text up by value, and the
 * append statements run on every send.
 */

/** Appends if `$8` is still the conversation's newest id and the sender still a member. */
export const APPEND_AFTER = `WITH c AS (
    UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3
    WHERE id = $1 AND last_msg_id IS NOT DISTINCT FROM $8::text
      AND EXISTS (SELECT 1 FROM members
                  WHERE conversation_id = $1 AND session = $3 AND state = ${Member})
    RETURNING id)
  INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
  SELECT $1, $2, $3, $4, $5, $6, $7 FROM c
  RETURNING 1 AS one`;
/** Locks the conversation and reads its newest id and the sender's membership. */
export const LOCK_FOR_APPEND = `SELECT c.last_msg_id, m.state FROM conversations c
  LEFT JOIN members m ON m.conversation_id = c.id AND m.session = $2
  WHERE c.id = $1 FOR UPDATE OF c`;
/** Appends under that lock. */
export const APPEND_LOCKED = `WITH m AS (
    INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
    VALUES ($1, $2, $3, $4, $5, $6, $7))
  UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3 WHERE id = $1`;

const messageColumns = `msg_id AS "MsgId", conversation_id AS "ConversationID", from_session AS "FromSession",
  send_time AS "SendTime", status AS "Status", type AS "Type", content AS "Content"`;

/** Message reads: `$1` the conversation, `$2` the limit, then the bounds. */
export const NEWEST = `SELECT ${messageColumns} FROM messages WHERE conversation_id = $1
  ORDER BY msg_id DESC LIMIT $2`;
export const BEFORE = `SELECT ${messageColumns} FROM messages WHERE conversation_id = $1 AND msg_id < $3
  ORDER BY msg_id DESC LIMIT $2`;
export const OLDEST = `SELECT ${messageColumns} FROM messages WHERE conversation_id = $1
  ORDER BY msg_id ASC LIMIT $2`;
export const AFTER = `SELECT ${messageColumns} FROM messages WHERE conversation_id = $1 AND msg_id > $3
  ORDER BY msg_id ASC LIMIT $2`;
export const RANGE_ASC = `SELECT ${messageColumns} FROM messages
  WHERE conversation_id = $1 AND msg_id >= $3 AND msg_id <= $4 ORDER BY msg_id ASC LIMIT $2`;
export const RANGE_DESC = `SELECT ${messageColumns} FROM messages
  WHERE conversation_id = $1 AND msg_id >= $3 AND msg_id <= $4 ORDER BY msg_id DESC LIMIT $2`;
/**
 * `$1` the session, `$2` the id to read after, `$3` the limit: per conversation of the session,
 * the newest `$3` ids after `$2` from the primary key (ids only), then the newest `$3` of those.
 */
export const MISSED_REFS = `SELECT m.msg_id AS "msgId", m.conversation_id AS "conversationId"
  FROM members mb CROSS JOIN LATERAL (
    SELECT conversation_id, msg_id FROM messages
    WHERE conversation_id = mb.conversation_id AND msg_id > $2
    ORDER BY msg_id DESC LIMIT $3) m
  WHERE mb.session = $1 AND mb.state = ${Member}
  ORDER BY m.msg_id DESC LIMIT $3`;

export const LAST_MSG_ID = 'SELECT last_msg_id FROM conversations WHERE id = $1';
export const GET_CONVERSATION = 'SELECT * FROM conversations WHERE id = $1';
export const IS_MEMBER = `SELECT m.state FROM conversations c
  LEFT JOIN members m ON m.conversation_id = c.id AND m.session = $2 WHERE c.id = $1`;
export const JOINED = `SELECT conversation_id FROM members WHERE session = $1 AND state = ${Member}
  ORDER BY seq`;

export const SAVE_POLL_CURSOR = `INSERT INTO poll_cursors (session, platform, msg_id, updated_at)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (session, platform) DO UPDATE SET msg_id = excluded.msg_id, updated_at = excluded.updated_at`;
export const POLL_CURSOR =
  'SELECT msg_id FROM poll_cursors WHERE session = $1 AND platform = $2 AND updated_at >= $3';
export const DELETE_EXPIRED_POLL_CURSORS = 'DELETE FROM poll_cursors WHERE updated_at < $1';

/** `APPEND_AFTER` with an idempotency key: `$9` the key, `$10` fresh since (ms), `$11` now (ms). */
export const APPEND_AFTER_KEYED = `WITH c AS (
    UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3
    WHERE id = $1 AND last_msg_id IS NOT DISTINCT FROM $8::text
      AND EXISTS (SELECT 1 FROM members
                  WHERE conversation_id = $1 AND session = $3 AND state = ${Member})
      AND NOT EXISTS (SELECT 1 FROM client_msg_ids
                      WHERE conversation_id = $1 AND from_session = $3 AND client_msg_id = $9
                        AND created_at >= $10)
    RETURNING id),
  k AS (
    INSERT INTO client_msg_ids (conversation_id, from_session, client_msg_id, msg_id, created_at)
    SELECT $1, $3, $9, $2, $11 FROM c
    ON CONFLICT (conversation_id, from_session, client_msg_id)
    DO UPDATE SET msg_id = excluded.msg_id, created_at = excluded.created_at)
  INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
  SELECT $1, $2, $3, $4, $5, $6, $7 FROM c
  RETURNING 1 AS one`;
/**
 * The message a key first stored, if the key was used at or after `$4` (ms). Run after the
 * conversation's lock is held, as a statement of its own: its snapshot then includes a
 * concurrent append with the same key that committed while this one waited for the lock.
 */
export const KEYED_MESSAGE = `SELECT ${messageColumns} FROM messages
  WHERE (conversation_id, msg_id) = (
    SELECT conversation_id, msg_id FROM client_msg_ids
    WHERE conversation_id = $1 AND from_session = $2 AND client_msg_id = $3 AND created_at >= $4)`;
/** `APPEND_LOCKED` storing the key `$8` first used now (`$9`, ms) as well. */
export const APPEND_LOCKED_KEYED = `WITH m AS (
    INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
    VALUES ($1, $2, $3, $4, $5, $6, $7)),
  k AS (
    INSERT INTO client_msg_ids (conversation_id, from_session, client_msg_id, msg_id, created_at)
    VALUES ($1, $3, $8, $2, $9)
    ON CONFLICT (conversation_id, from_session, client_msg_id)
    DO UPDATE SET msg_id = excluded.msg_id, created_at = excluded.created_at)
  UPDATE conversations SET last_msg_id = $2, last_send_time = $4, last_send_session = $3 WHERE id = $1`;
export const DELETE_EXPIRED_CLIENT_MSG_IDS = 'DELETE FROM client_msg_ids WHERE created_at < $1';

/**
 * The read cursor of the member row `m` (see `CursorStore`): the greater of the stored cursor
 * and the member's own newest message, read from the `messages_by_sender` index. GREATEST
 * ignores nulls.
 */
const cursorOf = (m: string) => `GREATEST(${m}.read_msg_id,
  (SELECT max(msg_id) FROM messages
   WHERE conversation_id = ${m}.conversation_id AND from_session = ${m}.session))`;

/** Makes `$2` (sessions) members of `$1`, each new one with the last id as its cursor. */
export const ADMIT = `INSERT INTO members (conversation_id, session, state, read_msg_id)
  SELECT $1, s, ${Member}, (SELECT last_msg_id FROM conversations WHERE id = $1)
  FROM unnest($2::text[]) AS s
  ON CONFLICT (conversation_id, session) DO UPDATE
  SET state = ${Member}, read_msg_id = excluded.read_msg_id WHERE members.state <> ${Member}`;

/**
 * Moves `$2`'s cursor in `$1` to min(`$3`, last id) if that is past it. The stored cursor is
 * checked again in the UPDATE itself, which sees a concurrent mark's commit: never back.
 */
export const MARK_READ = `WITH cur AS (
    SELECT c.last_msg_id, m.state, ${cursorOf('m')} AS cursor,
      LEAST($3::text COLLATE "C", c.last_msg_id) AS target
    FROM conversations c
    LEFT JOIN members m ON m.conversation_id = c.id AND m.session = $2
    WHERE c.id = $1),
  upd AS (
    UPDATE members SET read_msg_id = cur.target FROM cur
    WHERE members.conversation_id = $1 AND members.session = $2 AND members.state = ${Member}
      AND cur.last_msg_id IS NOT NULL
      AND cur.target > COALESCE(cur.cursor, '')
      AND cur.target > COALESCE(members.read_msg_id, '')
    RETURNING members.read_msg_id)
  SELECT cur.state, cur.cursor, (SELECT read_msg_id FROM upd) AS advanced_to FROM cur`;

/**
 * `$1`'s conversations with read state; unread counts an index range, stopped at the cap
 * (`OFFSET 0` keeps the cursor's subquery from being inlined, and so run, twice).
 */
export const CONVERSATION_SUMMARIES = `SELECT c.id, c.type, c.is_archive, c.last_msg_id,
    c.last_send_time, c.last_send_session, r.cursor AS read_msg_id,
    CASE WHEN c.last_msg_id IS NULL THEN 0 ELSE (
      SELECT count(*) FROM (
        SELECT 1 FROM messages
        WHERE conversation_id = c.id AND msg_id > COALESCE(r.cursor, '') LIMIT ${MAX_UNREAD}) u)
    END AS unread
  FROM members m JOIN conversations c ON c.id = m.conversation_id
  CROSS JOIN LATERAL (SELECT ${cursorOf('m')} AS cursor OFFSET 0) r
  WHERE m.session = $1 AND m.state = ${Member}
  ORDER BY c.last_send_time DESC NULLS LAST, c.last_msg_id DESC, c.id COLLATE "C"`;

/** Members of `$1` after `$2` in byte order, `$3` of them; no row: no conversation. */
export const MEMBER_CURSORS = `SELECT m.session, ${cursorOf('m')} AS read_msg_id
  FROM conversations c LEFT JOIN LATERAL (
    SELECT * FROM members WHERE conversation_id = c.id AND state = ${Member}
      AND session COLLATE "C" > $2 ORDER BY session COLLATE "C" LIMIT $3) m ON true
  WHERE c.id = $1
  ORDER BY m.session COLLATE "C"`;

/** Writes a webhook event: `$1` id, `$2` conversation, `$3` body, `$4` when (ms). */
export const INSERT_OUTBOX = `INSERT INTO webhook_outbox (id, conversation_id, body, created_at, next_attempt_at)
  VALUES ($1, $2, $3, $4, $4)`;

/**
 * An append statement that also writes its message's webhook event, in the same statement
 * and only when the message is stored: `$first` the event id, then its body and time (ms).
 */
function withOutboxRow(append: string, first: number): string {
  const at = append.lastIndexOf('\n  INSERT INTO messages');
  return `${append.slice(0, at)},
  e AS (
    INSERT INTO webhook_outbox (id, conversation_id, body, created_at, next_attempt_at)
    SELECT $${first}::text, $1, $${first + 1}::text, $${first + 2}::bigint, $${first + 2}::bigint
    FROM c)${append.slice(at)}`;
}
export const APPEND_AFTER_EVENT = withOutboxRow(APPEND_AFTER, 9);
export const APPEND_AFTER_KEYED_EVENT = withOutboxRow(APPEND_AFTER_KEYED, 12);

/**
 * Leases each conversation's oldest event (`DISTINCT ON` over the (conversation_id, seq)
 * index) when due and not leased, up to `$4` of them, to `$1` until `$3`; `$2` is now (ms).
 * `SKIP LOCKED` lets two nodes lease at once without waiting on each other or taking the same
 * row; a row another node leased and committed meanwhile is re-checked and left.
 */
export const LEASE_OUTBOX = `WITH heads AS (
    SELECT DISTINCT ON (conversation_id) seq FROM webhook_outbox ORDER BY conversation_id, seq),
  due AS (
    SELECT o.seq FROM webhook_outbox o JOIN heads h ON h.seq = o.seq
    WHERE o.next_attempt_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
    ORDER BY o.seq LIMIT $4
    FOR UPDATE OF o SKIP LOCKED)
  UPDATE webhook_outbox o SET lease_owner = $1, lease_until = $3 FROM due WHERE o.seq = due.seq
  RETURNING o.seq, o.id, o.conversation_id, o.body, o.created_at, o.attempts`;
export const DELETE_OUTBOX = 'DELETE FROM webhook_outbox WHERE id = $1';
export const RETRY_OUTBOX = `UPDATE webhook_outbox SET attempts = $2, next_attempt_at = $3,
  lease_owner = NULL, lease_until = NULL WHERE id = $1`;
export const COUNT_OUTBOX = 'SELECT count(*)::int AS n FROM webhook_outbox';
