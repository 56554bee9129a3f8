import { MemberState } from './member-state.js';
import type { PostgresDatabase } from './postgres-database.js';
import { CONVERSATION_SUMMARIES, MARK_READ, MEMBER_CURSORS } from './postgres-statements.js';
import type { ConversationSummary, MarkReadResult, MemberCursor } from './store.js';

/** `PostgresStore`'s read-state queries (see `CursorStore`), one statement each. */
export class PostgresReadState {
  constructor(private readonly db: PostgresDatabase) {}

  async markRead(conversationId: string, session: string, msgId: string): Promise<MarkReadResult> {
    const [row] = await this.db.rows<{
      state: number | null;
      cursor: string | null;
      advanced_to: string | null;
    }>(MARK_READ, [conversationId, session, msgId]);
    if (!row) return { kind: 'not-found' };
    if (row.state !== MemberState.Member) return { kind: 'not-member' };
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
}
