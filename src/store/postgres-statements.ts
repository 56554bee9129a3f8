import type { QueryConfig } from 'pg';
import { MemberState } from './member-state.js';
import type { MessageDraft } from './store.js';

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

/** `$1`…`$7` of both append statements. */
export function draftValues(draft: MessageDraft, msgId: string): unknown[] {
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
