import { MemberState } from './member-state.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { ConversationSummary, MarkReadResult, MemberCursor } from './store.js';

// The read-state operations of `SqliteStore`, each run inside one of its transactions.

/** See `CursorStore.markRead`. */
export function markReadTx(
  q: SqliteStatements,
  conversationId: string,
  session: string,
  msgId: string,
): MarkReadResult {
  const row = q.memberCursor.get(conversationId, session);
  if (!row || row.state !== MemberState.Member) {
    return { kind: q.exists.get(conversationId) ? 'not-member' : 'not-found' };
  }
  const last = q.lastMsgId.get(conversationId)?.last_msg_id ?? null;
  const target = last === null || msgId < last ? msgId : last;
  if (last === null || (row.read_msg_id !== null && target <= row.read_msg_id)) {
    return { kind: 'read', readMsgId: row.read_msg_id, advanced: false };
  }
  q.setReadMsgId.run(target, conversationId, session);
  return { kind: 'read', readMsgId: target, advanced: true };
}

/**
 * See `CursorStore.conversationSummaries`: per conversation, its newest message and an unread
 * count over the (conversation_id, msg_id) index, stopped at the cap.
 */
export function summariesOf(q: SqliteStatements, session: string): ConversationSummary[] {
  return sortSummaries(
    q.summaries.all(session).map((row): ConversationSummary => {
      const last = q.newestOne.get(row.id);
      return {
        conversationId: row.id,
        type: row.type,
        isArchive: row.is_archive !== 0,
        lastMsgId: last?.msg_id ?? null,
        lastSendTime: last?.send_time ?? null,
        lastSendSession: last?.from_session ?? null,
        readMsgId: row.read_msg_id,
        unread: last ? (q.unread.get(row.id, row.read_msg_id ?? '') ?? 0) : 0,
      };
    }),
  );
}

/** See `CursorStore.memberCursors`. */
export function memberCursorsOf(
  q: SqliteStatements,
  conversationId: string,
  after: string | null,
  limit: number,
): MemberCursor[] | undefined {
  if (!q.exists.get(conversationId)) return undefined;
  return q.memberCursors
    .all(conversationId, after ?? '', limit)
    .map((r) => ({ session: r.session, readMsgId: r.read_msg_id }));
}

/** Newest `lastSendTime` first, then greater `lastMsgId`, then conversation id; no message: last. */
function sortSummaries(list: ConversationSummary[]): ConversationSummary[] {
  const key = (s: ConversationSummary) => s.lastSendTime ?? -Infinity;
  return list.sort(
    (a, b) =>
      key(b) - key(a) ||
      compare(b.lastMsgId ?? '', a.lastMsgId ?? '') ||
      compare(a.conversationId, b.conversationId),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
