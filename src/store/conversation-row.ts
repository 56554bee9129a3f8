import type { ConversationDetail } from '../domain/conversation.js';

/** A conversation row as both stores read it (SQLite's `is_archive` is 0 or 1). */
export interface ConversationRow {
  id: string;
  type: number;
  is_archive: number | boolean;
  last_msg_id: string | null;
  last_send_time: number | null;
  last_send_session: string | null;
}

/** The API's view of a conversation row; undefined: no row. */
export function conversationDetail(
  row: ConversationRow | undefined,
): ConversationDetail | undefined {
  if (!row) return undefined;
  return {
    ConversationID: row.id,
    LastMsgID: row.last_msg_id,
    LastSendTime: row.last_send_time,
    IsDelete: false,
    ConversationType: row.type,
    LastSendSession: row.last_send_session,
    IsArchive: Boolean(row.is_archive),
  };
}
