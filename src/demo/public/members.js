// The open conversation's members: a list with an online dot each, and the other members'
// read cursors, from which the room shows "Seen by". Loaded from /get_conversation_members,
// kept current by `read` events and the senders of pushed messages; presence has no event,
// so the list is reloaded on joins and leaves, when the page becomes visible, and periodically.
import { chat, element, laterId, ui } from './ui.js';

/** The member list shows at most this many; "seen" considers the same ones. */
const MEMBERS_SHOWN = 1000;

/** session → { readMsgId, online } of the conversation `loadedFor`. */
let members = new Map();
let loadedFor = null;
/** Bumped by every load and clear, so an older answer never overwrites a newer one. */
let loadSeq = 0;

/** Reads every member of `id` (up to MEMBERS_SHOWN) and shows them; false if overtaken. */
export async function loadMembers(id) {
  const seq = ++loadSeq;
  const fresh = new Map();
  for await (const m of chat.client.allConversationMembers(id)) {
    fresh.set(m.Session, { readMsgId: m.ReadMsgId, online: m.Online });
    if (fresh.size >= MEMBERS_SHOWN) break;
  }
  if (seq !== loadSeq || chat.openId !== id) return false;
  // A cursor may have moved (read event) while the pages were on their way: keep the later one.
  if (loadedFor === id) {
    for (const [session, m] of fresh)
      m.readMsgId = laterId(m.readMsgId, members.get(session)?.readMsgId);
  }
  members = fresh;
  loadedFor = id;
  render();
  return true;
}

export function clearMembers() {
  loadSeq += 1;
  members = new Map();
  loadedFor = null;
  ui.members.replaceChildren();
}

/** A member's cursor moved to `msgId` (a `read` event, or its own message); true if shown here. */
export function moveCursor(conversationId, session, msgId) {
  const m = conversationId === loadedFor ? members.get(session) : undefined;
  if (m === undefined) return false;
  m.readMsgId = laterId(m.readMsgId, msgId);
  return true;
}

/** `[session, readMsgId]` of every shown member but the caller. */
export function otherCursors() {
  return [...members].filter(([s]) => s !== chat.me.session).map(([s, m]) => [s, m.readMsgId]);
}

function render() {
  const items = [...members].map(([session, m]) => {
    const li = element('li', 'member');
    li.dataset.testid = 'member';
    li.dataset.session = session;
    li.dataset.online = String(m.online);
    const dot = element('span', m.online ? 'dot online' : 'dot');
    dot.dataset.testid = 'online-dot';
    dot.title = m.online ? 'online' : 'offline';
    const you = session === chat.me.session ? ' (you)' : '';
    li.append(dot, element('span', 'member-name', session + you));
    return li;
  });
  ui.members.replaceChildren(...items);
}
