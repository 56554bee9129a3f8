import Database from 'better-sqlite3';
import { UnavailableError } from '../domain/errors.js';
import type { Message } from '../domain/message.js';
import type { ConversationRow } from './conversation-row.js';
import { MemberState } from './member-state.js';
import { MAX_UNREAD } from './store.js';

const { Member, Left } = MemberState;

const messageColumns = `msg_id AS MsgId, conversation_id AS ConversationID, from_session AS FromSession,
  send_time AS SendTime, status AS Status, type AS Type, content AS Content`;

/**
 * The read cursor of the member row `m` (see `CursorStore`): the greater of the stored cursor
 * and the member's own newest message, read from the `messages_by_sender` index.
 */
const cursorOf = (m: string) => `nullif(max(coalesce(${m}.read_msg_id, ''),
  coalesce((SELECT max(msg_id) FROM messages
            WHERE conversation_id = ${m}.conversation_id AND from_session = ${m}.session), '')), '')`;

export interface SummaryRow {
  id: string;
  type: number;
  is_archive: number;
  read_msg_id: string | null;
}

/**
 * `conversation_id`, the id to read after, the limit: the newest ids after it, descending. Ids
 * only, so the (conversation_id, msg_id) index answers it without reading a row.
 */
export const NEWEST_IDS_AFTER = `SELECT msg_id FROM messages WHERE conversation_id = ? AND msg_id > ?
  ORDER BY msg_id DESC LIMIT ?`;

/** Every query of `SqliteStore`, prepared once on its connection. */
export function prepareStatements(db: Database.Database) {
  return {
    insertConversation: db.prepare('INSERT INTO conversations (id, type) VALUES (?, ?)'),
    // The last-message fields come from the newest row of the (conversation_id, msg_id)
    // index rather than columns updated by every append: one row fewer written per message.
    getConversation: db.prepare<[string], ConversationRow>(
      `SELECT c.id, c.type, c.is_archive, m.msg_id AS last_msg_id,
         m.send_time AS last_send_time, m.from_session AS last_send_session
       FROM conversations c LEFT JOIN messages m ON m.rowid = (
         SELECT rowid FROM messages WHERE conversation_id = c.id ORDER BY msg_id DESC LIMIT 1)
       WHERE c.id = ?`,
    ),
    exists: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM conversations WHERE id = ?',
    ),
    upsertMember: db.prepare(
      `INSERT INTO members (conversation_id, session, state) VALUES (?, ?, ?)
       ON CONFLICT (conversation_id, session) DO UPDATE SET state = excluded.state`,
    ),
    /** Makes a session a member with `read_msg_id` as its cursor; a current member is untouched. */
    joinMember: db.prepare(
      `INSERT INTO members (conversation_id, session, state, read_msg_id) VALUES (?, ?, ${Member}, ?)
       ON CONFLICT (conversation_id, session) DO UPDATE
       SET state = ${Member}, read_msg_id = excluded.read_msg_id WHERE members.state <> ${Member}`,
    ),
    leave: db.prepare(
      `UPDATE members SET state = ${Left} WHERE conversation_id = ? AND session = ? AND state = ${Member}`,
    ),
    joined: db.prepare<[string], { conversation_id: string }>(
      `SELECT conversation_id FROM members WHERE session = ? AND state = ${Member} ORDER BY rowid`,
    ),
    setArchive: db.prepare('UPDATE conversations SET is_archive = ? WHERE id = ?'),
    /** The conversation's newest id and the session's member state; no row: no conversation. */
    appendCheck: db.prepare<[string, string], { last_msg_id: string | null; state: number | null }>(
      `SELECT (SELECT msg_id FROM messages WHERE conversation_id = c.id
               ORDER BY msg_id DESC LIMIT 1) AS last_msg_id, m.state
       FROM conversations c
       LEFT JOIN members m ON m.conversation_id = c.id AND m.session = ? WHERE c.id = ?`,
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    lastMsgId: db.prepare<[string], { last_msg_id: string }>(
      'SELECT msg_id AS last_msg_id FROM messages WHERE conversation_id = ? ORDER BY msg_id DESC LIMIT 1',
    ),
    before: db.prepare<[string, string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id < ? ORDER BY msg_id DESC LIMIT ?`,
    ),
    newest: db.prepare<[string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY msg_id DESC LIMIT ?`,
    ),
    after: db.prepare<[string, string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id > ? ORDER BY msg_id ASC LIMIT ?`,
    ),
    oldest: db.prepare<[string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? ORDER BY msg_id ASC LIMIT ?`,
    ),
    rangeAsc: db.prepare<[string, string, string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id >= ? AND msg_id <= ?
       ORDER BY msg_id ASC LIMIT ?`,
    ),
    rangeDesc: db.prepare<[string, string, string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE conversation_id = ? AND msg_id >= ? AND msg_id <= ?
       ORDER BY msg_id DESC LIMIT ?`,
    ),
    newestIdsAfter: db.prepare<[string, string, number], string>(NEWEST_IDS_AFTER).pluck(),
    memberCursor: db.prepare<[string, string], { state: number; read_msg_id: string | null }>(
      `SELECT m.state, ${cursorOf('m')} AS read_msg_id FROM members m
       WHERE m.conversation_id = ? AND m.session = ?`,
    ),
    setReadMsgId: db.prepare(
      'UPDATE members SET read_msg_id = ? WHERE conversation_id = ? AND session = ?',
    ),
    summaries: db.prepare<[string], SummaryRow>(
      `SELECT c.id, c.type, c.is_archive, ${cursorOf('m')} AS read_msg_id
       FROM members m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.session = ? AND m.state = ${Member}`,
    ),
    newestOne: db.prepare<[string], { msg_id: string; send_time: number; from_session: string }>(
      `SELECT msg_id, send_time, from_session FROM messages WHERE conversation_id = ?
       ORDER BY msg_id DESC LIMIT 1`,
    ),
    /** An index range, stopped at the cap: `''` sorts before every id. */
    unread: db
      .prepare<[string, string], number>(
        `SELECT count(*) FROM (SELECT 1 FROM messages WHERE conversation_id = ? AND msg_id > ?
         LIMIT ${MAX_UNREAD})`,
      )
      .pluck(),
    memberCursors: db.prepare<
      [string, string, number],
      { session: string; read_msg_id: string | null }
    >(
      `SELECT m.session, ${cursorOf('m')} AS read_msg_id FROM members m
       WHERE m.conversation_id = ? AND m.state = ${Member} AND m.session > ?
       ORDER BY m.session LIMIT ?`,
    ),
    /** The message an idempotency key first stored, if the key was used at or after the time. */
    keyedMessage: db.prepare<[string, string, string, number], Message>(
      `SELECT ${messageColumns} FROM messages WHERE rowid = (
         SELECT m.rowid FROM client_msg_ids k JOIN messages m
           ON m.conversation_id = k.conversation_id AND m.msg_id = k.msg_id
       WHERE k.conversation_id = ? AND k.from_session = ? AND k.client_msg_id = ?
           AND k.created_at >= ?)`,
    ),
    saveKey: db.prepare(
      `INSERT INTO client_msg_ids (conversation_id, from_session, client_msg_id, msg_id, created_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id, from_session, client_msg_id)
       DO UPDATE SET msg_id = excluded.msg_id, created_at = excluded.created_at`,
    ),
    deleteExpiredKeys: db.prepare('DELETE FROM client_msg_ids WHERE created_at < ?'),
    savePollCursor: db.prepare(
      `INSERT INTO poll_cursors (session, platform, msg_id, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (session, platform) DO UPDATE SET msg_id = excluded.msg_id, updated_at = excluded.updated_at`,
    ),
    pollCursor: db.prepare<[string, number, number], { msg_id: string }>(
      'SELECT msg_id FROM poll_cursors WHERE session = ? AND platform = ? AND updated_at >= ?',
    ),
    deleteExpiredPollCursors: db.prepare('DELETE FROM poll_cursors WHERE updated_at < ?'),
    ping: db.prepare('SELECT 1'),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  };
}

export type SqliteStatements = ReturnType<typeof prepareStatements>;

/** Runs a synchronous database call, turning a closed or broken database into `UnavailableError`. */
export function settle<T>(db: Database.Database, fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    if (
      !db.open ||
      (err instanceof Database.SqliteError && /BUSY|LOCKED|IOERR|CANTOPEN|FULL/.test(err.code))
    ) {
      return Promise.reject(new UnavailableError('store unavailable'));
    }
    return Promise.reject(err);
  }
}
