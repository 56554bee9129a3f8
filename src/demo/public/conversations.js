// The conversation list: one entry per conversation, newest activity first, each with a
// preview of its last message and an unread badge. Counts come from /get_conversation_list
// and are kept current by pushed messages and `read` events.
import { chat, element, laterId, ui } from './ui.js';

/** Pushed MsgIds from others remembered per conversation, to count what a list answer missed. */
const PUSHED_KEPT = 200;
/** Several events asking for a fresh list within this many ms share one request. */
const REFRESH_DELAY_MS = 250;
const TITLE = document.title;

/** Per conversation: `{ unread, readMsgId, lastMsgId, pushed }` (pushed: others' MsgIds, oldest first). */
const counts = new Map();
let refreshTimer = null;

function countsOf(id) {
  let c = counts.get(id);
  if (c === undefined) {
    c = { unread: 0, readMsgId: null, lastMsgId: null, pushed: [] };
    counts.set(id, c);
  }
  return c;
}

export function conversationItem(id) {
  return [...ui.conversations.children].find((li) => li.dataset.conversationId === id);
}

/** The entry of `id`, added at the end of the list if it is not there yet. */
export function ensureConversation(id) {
  const existing = conversationItem(id);
  if (existing) return existing;
  const li = element('li');
  li.dataset.conversationId = id;
  li.dataset.testid = 'conversation';
  li.title = id;
  const button = element('button');
  button.type = 'button';
  const top = element('span', 'top');
  const badge = element('span', 'badge');
  badge.dataset.testid = 'unread';
  badge.hidden = true;
  top.append(element('span', 'name', id.slice(0, 8)), badge);
  button.append(top, element('span', 'preview muted', 'no messages yet'));
  li.append(button);
  ui.conversations.append(li);
  return li;
}

/** Drops the entry of `id` (the user left it or was removed). */
export function removeConversation(id) {
  conversationItem(id)?.remove();
  counts.delete(id);
  showTotal();
}

export function showPreview(item, msg) {
  item.querySelector('.preview').textContent = `${msg.FromSession}: ${msg.Content}`;
  item.dataset.lastMsgId = msg.MsgId;
}

export function markOpen() {
  for (const li of ui.conversations.children) {
    li.classList.toggle('open', li.dataset.conversationId === chat.openId);
  }
}

function showUnread(id) {
  const item = conversationItem(id);
  if (!item) return;
  const { unread } = countsOf(id);
  const badge = item.querySelector('.badge');
  badge.textContent = unread > 99 ? '99+' : String(unread);
  badge.hidden = unread === 0;
  item.classList.toggle('unread', unread > 0);
  showTotal();
}

function showTotal() {
  let total = 0;
  for (const c of counts.values()) total += c.unread;
  document.title = total > 0 ? `(${total}) ${TITLE}` : TITLE;
}

/**
 * Counts a pushed message. `readNow`: the conversation is on screen and will be marked read,
 * so the message never counts. The sender's own message moved its cursor past everything.
 */
export function countMessage(msg, readNow) {
  const c = countsOf(msg.ConversationID);
  const isNew = c.lastMsgId === null || msg.MsgId > c.lastMsgId;
  c.lastMsgId = laterId(c.lastMsgId, msg.MsgId);
  if (msg.FromSession === chat.me.session) {
    c.readMsgId = laterId(c.readMsgId, msg.MsgId);
    c.unread = 0;
  } else {
    c.pushed.push(msg.MsgId);
    if (c.pushed.length > PUSHED_KEPT) c.pushed.shift();
    // A message the last list already counted (a replay after it) is not counted again.
    if (isNew && !readNow && (c.readMsgId === null || msg.MsgId > c.readMsgId)) c.unread += 1;
  }
  showUnread(msg.ConversationID);
}

/** Whether the caller's cursor in `id` is before `msgId`, so marking it read would move it. */
export function isUnreadUpTo(id, msgId) {
  const { readMsgId } = countsOf(id);
  return readMsgId === null || readMsgId < msgId;
}

/**
 * The caller's cursor in `id` is now `readMsgId` (a mark_read answer, or a `read` event from
 * one of its platforms): everything read when it reaches the newest message, else the list
 * is asked again for the exact count.
 */
export function setRead(id, readMsgId) {
  if (readMsgId === null) return;
  const c = countsOf(id);
  c.readMsgId = laterId(c.readMsgId, readMsgId);
  if (c.lastMsgId === null || c.readMsgId >= c.lastMsgId) c.unread = 0;
  else scheduleRefresh();
  showUnread(id);
}

/** Refreshes the list soon, once for a burst of reasons. */
export function scheduleRefresh(onError = () => {}) {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (chat.client) refreshConversations().catch(onError);
  }, REFRESH_DELAY_MS);
}

/** Lists the caller's conversations, newest activity first, with unread counts and previews. */
export async function refreshConversations() {
  const client = chat.client;
  const list = await client.conversationList();
  if (client !== chat.client) return;
  const items = list.Conversations.map((entry) => {
    applyEntry(entry);
    return ensureConversation(entry.ConversationID);
  });
  // Entries added meanwhile by a pushed message or a join stay, after the listed ones.
  const listed = new Set(items);
  const others = [...ui.conversations.children].filter((li) => !listed.has(li));
  ui.conversations.replaceChildren(...items, ...others);
  for (const entry of list.Conversations) showUnread(entry.ConversationID);
  markOpen();
  await loadPreviews(client, list.Conversations);
}

/** Takes one list entry's counts, plus pushed messages of others the list did not include yet. */
function applyEntry(entry) {
  const c = countsOf(entry.ConversationID);
  c.readMsgId = laterId(c.readMsgId, entry.ReadMsgId);
  const listedUpTo = entry.LastMsgID ?? '';
  const missed = c.pushed.filter((id) => id > listedUpTo && id > (c.readMsgId ?? '')).length;
  c.lastMsgId = laterId(c.lastMsgId, entry.LastMsgID);
  const allRead = c.lastMsgId !== null && c.readMsgId !== null && c.readMsgId >= c.lastMsgId;
  c.unread = allRead ? 0 : entry.Unread + missed;
}

/** Previews whose last message changed; one that fails to load (say, just kicked) stays as it is. */
async function loadPreviews(client, entries) {
  const stale = entries.filter(
    (e) =>
      e.LastMsgID !== null && conversationItem(e.ConversationID)?.dataset.lastMsgId !== e.LastMsgID,
  );
  const lasts = await Promise.all(
    stale.map((e) => client.getLastMessage(e.ConversationID).catch(() => null)),
  );
  for (const last of lasts) {
    const item = last && conversationItem(last.ConversationID);
    if (item && !(item.dataset.lastMsgId > last.MsgId)) showPreview(item, last);
  }
}

/** Forgets every count (signing out or in as someone else). */
export function resetConversations() {
  counts.clear();
  ui.conversations.replaceChildren();
  showTotal();
}
