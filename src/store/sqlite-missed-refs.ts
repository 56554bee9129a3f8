import type { SqliteStatements } from './sqlite-statements.js';
import type { MessageRef } from './store.js';

/**
 * See `MessageStore.missedMessageRefs`. One bounded index read per conversation; once `limit`
 * refs are kept, each later read starts above the oldest kept, so it reads only ids that
 * displace one.
 */
export function missedRefsOf(
  q: SqliteStatements,
  session: string,
  afterId: string,
  limit: number,
): MessageRef[] {
  let kept: MessageRef[] = [];
  for (const { conversation_id: conversationId } of q.joined.all(session)) {
    const oldest = kept.length >= limit ? (kept[0] as MessageRef).msgId : afterId;
    const ids = q.newestIdsAfter.all(conversationId, oldest, limit);
    if (ids.length === 0) continue;
    const refs = ids.reverse().map((msgId) => ({ msgId, conversationId }));
    kept = newestOf(kept, refs, limit);
  }
  return kept;
}

/** The newest `limit` of two ascending lists, merged ascending. */
function newestOf(a: readonly MessageRef[], b: readonly MessageRef[], limit: number): MessageRef[] {
  const out: MessageRef[] = [];
  let i = a.length - 1;
  let j = b.length - 1;
  while (out.length < limit && (i >= 0 || j >= 0)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.msgId > y.msgId)) {
      out.push(x as MessageRef);
      i--;
    } else {
      out.push(y);
      j--;
    }
  }
  return out.reverse();
}
