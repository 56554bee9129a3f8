// The open conversation: its messages (history pages and pushed ones, each once, in MsgId
// order), "Seen by" under the last message each other member has read, its member list, and
// marking it read while it is on screen and the page is visible.
import { countMessage, isUnreadUpTo, markOpen, setRead } from './conversations.js';
import { clearMembers, loadMembers, moveCursor, otherCursors } from './members.js';
import { chat, element, pageVisible, showError, ui } from './ui.js';

/** The history endpoints answer pages of this many messages. */
const HISTORY_PAGE = 30;
/** Older messages load when the list is scrolled this close to its top, in pixels. */
export const TOP_MARGIN_PX = 40;

/** Bumped on every open, so a late answer for a conversation no longer open is dropped. */
let openSeq = 0;
let hasOlder = false;
/** The openSeq whose older page is loading, or 0. */
let loadingOlderFor = 0;
/** A mark_read is in flight; `readAgain`: something newer arrived meanwhile. */
let reading = false;
let readAgain = false;

export function closeConversation() {
  openSeq += 1;
  chat.openId = null;
  hasOlder = false;
  ui.messages.replaceChildren();
  clearMembers();
  ui.historyNote.textContent = 'Open a conversation on the left, or create one.';
  ui.conversationId.textContent = 'none open';
  ui.input.disabled = true;
  ui.send.disabled = true;
}

/** Opens `id`: its newest messages, its members, and marks it read. `onOpened` saves the place. */
export async function openConversation(id, onOpened = () => {}) {
  closeConversation();
  const seq = openSeq;
  chat.openId = id;
  onOpened();
  markOpen();
  ui.conversationId.textContent = id;
  ui.input.disabled = false;
  ui.send.disabled = false;
  ui.input.focus();
  const [last] = await Promise.all([chat.client.getLastMessages(id), refreshMembers()]);
  if (seq !== openSeq) return;
  insertMessages(last);
  setHasOlder(last.length === HISTORY_PAGE);
  scrollToBottom();
  showSeen();
  await markReadIfVisible();
  await fillScroller(seq);
}

/** Reloads the open conversation's members (presence, cursors) and the "Seen by" lines. */
export async function refreshMembers() {
  const id = chat.openId;
  if (id !== null && (await loadMembers(id))) showSeen();
}

/** A pushed message: counted in the list, and shown and read if its conversation is open. */
export function onMessage(msg) {
  const open = msg.ConversationID === chat.openId;
  countMessage(msg, open && pageVisible());
  // Sending moved the sender's cursor to the message, with no read event.
  moveCursor(msg.ConversationID, msg.FromSession, msg.MsgId);
  if (!open) return;
  const atBottom =
    ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < TOP_MARGIN_PX;
  insertMessages([msg]);
  showSeen();
  if (atBottom || msg.FromSession === chat.me.session) scrollToBottom();
  markReadIfVisible().catch(showError);
}

/** A `read` event: the caller's own cursor updates the list; another member's, "Seen by". */
export function onRead(event) {
  if (event.Session === chat.me.session) setRead(event.ConversationID, event.ReadMsgId);
  if (moveCursor(event.ConversationID, event.Session, event.ReadMsgId)) showSeen();
}

/**
 * Moves the caller's cursor to the newest message shown, if the page is visible and the
 * cursor is behind it; calls made while one is in flight are folded into one more.
 */
export async function markReadIfVisible() {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = true;
  try {
    do {
      readAgain = false;
      const id = chat.openId;
      const newest = ui.messages.lastElementChild?.dataset.msgId;
      if (id === null || newest === undefined || !pageVisible()) return;
      if (isUnreadUpTo(id, newest)) setRead(id, await chat.client.markRead(id, newest));
    } while (readAgain);
  } finally {
    reading = false;
  }
}

/**
 * "Seen by …" under the newest shown message each other member has read up to, leaving out
 * a member's own message (a sender has seen what it sent, and everything before it).
 */
function showSeen() {
  for (const old of ui.messages.querySelectorAll('.seen')) old.remove();
  const items = [...ui.messages.children];
  const readers = new Map();
  for (const [session, cursor] of otherCursors()) {
    if (cursor === null) continue;
    const at = items.findLast((li) => li.dataset.msgId <= cursor);
    if (at === undefined || at.dataset.from === session) continue;
    readers.set(at, [...(readers.get(at) ?? []), session]);
  }
  for (const [li, sessions] of readers) {
    const seen = element('div', 'seen', `Seen by ${sessions.sort().join(', ')}`);
    seen.dataset.testid = 'seen';
    li.append(seen);
  }
}

function setHasOlder(value) {
  hasOlder = value;
  ui.historyNote.textContent = value ? 'Scroll up for older messages' : 'Start of the conversation';
}

/** Adds the page of messages before the oldest one shown; false when there was nothing to do. */
export async function loadOlder(seq = openSeq) {
  const first = ui.messages.firstElementChild;
  if (seq !== openSeq || loadingOlderFor === seq || !hasOlder || !first) return false;
  loadingOlderFor = seq;
  try {
    const older = await chat.client.getMessagesBefore(chat.openId, first.dataset.msgId);
    if (seq !== openSeq) return false;
    // Keep the messages on screen where they are while older ones are added above them.
    const before = ui.scroller.scrollHeight;
    insertMessages(older);
    showSeen();
    ui.scroller.scrollTop += ui.scroller.scrollHeight - before;
    setHasOlder(older.length === HISTORY_PAGE);
    return true;
  } finally {
    if (loadingOlderFor === seq) loadingOlderFor = 0;
  }
}

/** Loads older pages until the list can scroll, so the user can always reach the top. */
async function fillScroller(seq) {
  while (ui.scroller.scrollHeight <= ui.scroller.clientHeight) {
    if (!(await loadOlder(seq))) return;
  }
}

/** Adds messages of the open conversation in MsgId order, each once (push and history overlap). */
function insertMessages(msgs) {
  for (const msg of msgs) {
    if (msg.ConversationID !== chat.openId) continue;
    let next = null;
    for (let li = ui.messages.lastElementChild; li; li = li.previousElementSibling) {
      if (li.dataset.msgId === msg.MsgId) {
        next = undefined;
        break;
      }
      if (li.dataset.msgId < msg.MsgId) break;
      next = li;
    }
    if (next !== undefined) ui.messages.insertBefore(messageItem(msg), next);
  }
}

function messageItem(msg) {
  const li = element('li', msg.FromSession === chat.me.session ? 'message mine' : 'message');
  li.dataset.msgId = msg.MsgId;
  li.dataset.from = msg.FromSession;
  li.dataset.testid = 'message';
  const meta = element('div', 'meta');
  const time = element('time');
  const sent = new Date(msg.SendTime / 1000); // SendTime is in microseconds
  time.dateTime = sent.toISOString();
  time.textContent = sent.toLocaleTimeString();
  meta.append(element('span', 'from', msg.FromSession), time);
  li.append(meta, element('div', 'text', msg.Content));
  return li;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

export async function sendMessage() {
  const content = ui.input.value;
  if (content.trim() === '' || chat.openId === null) return;
  await chat.client.sendMessage({ conversationId: chat.openId, content, type: 1 });
  ui.input.value = '';
}
