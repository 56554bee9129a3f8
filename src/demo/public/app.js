// The quick-im demo chat: a plain browser module over the @quick-im/client SDK. Everything a
// user typed is rendered with textContent, never as HTML.
import { QuickImClient } from './sdk/index.js';

/** The history endpoints answer pages of this many messages. */
const HISTORY_PAGE = 30;
/** Who this tab is signed in as and what it has open (survives a reload, not the tab). */
const CURRENT_KEY = 'quickim-demo:current';
/** Older messages load when the list is scrolled this close to its top, in pixels. */
const TOP_MARGIN_PX = 40;

const $ = (id) => document.getElementById(id);
const ui = {
  signIn: $('sign-in'),
  session: $('session'),
  platform: $('platform'),
  chat: $('chat'),
  me: $('me'),
  signOut: $('sign-out'),
  transport: $('transport'),
  state: $('state'),
  replaced: $('replaced-banner'),
  error: $('error'),
  conversations: $('conversations'),
  refresh: $('refresh'),
  createForm: $('create-form'),
  createSessions: $('create-sessions'),
  joinForm: $('join-form'),
  joinId: $('join-id'),
  conversationId: $('conversation-id'),
  scroller: $('scroller'),
  historyNote: $('history-note'),
  messages: $('messages'),
  sendForm: $('send-form'),
  input: $('message-input'),
  send: $('send'),
};

/** @type {QuickImClient | null} */
let client = null;
/** @type {{ session: string, platform: number } | null} */
let me = null;
/** The conversation on screen. */
let openId = null;
/** Bumped on every open, so a late answer for a conversation no longer open is dropped. */
let openSeq = 0;
let hasOlder = false;
/** The openSeq whose older page is loading, or 0. */
let loadingOlderFor = 0;

function showError(err) {
  const code = typeof err?.code === 'number' ? ` (code ${err.code})` : '';
  ui.error.textContent = `${err?.message ?? String(err)}${code}`;
  ui.error.hidden = false;
}

/** Runs an action from a button or form; a failure shows in the error banner. */
function act(fn) {
  return (event) => {
    event?.preventDefault();
    ui.error.hidden = true;
    fn().catch(showError);
  };
}

/** A token from the demo's loopback-only endpoint; a product's own backend does this. */
async function fetchToken(session, platform) {
  const res = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session, platform }),
  });
  const body = await res.json().catch(() => ({}));
  if (body.code !== 0) {
    throw Object.assign(new Error(body.error ?? `HTTP ${res.status}`), { code: body.code });
  }
  return body.data;
}

function lastMsgIdKey() {
  return `quickim-demo:lastMsgId:${JSON.stringify([me.session, me.platform])}`;
}

function saveCurrent() {
  sessionStorage.setItem(CURRENT_KEY, JSON.stringify({ ...me, conversationId: openId }));
}

function showConnection() {
  ui.state.textContent = client?.state ?? 'idle';
  ui.transport.textContent = client?.transport ?? 'none';
  document.body.dataset.state = client?.state ?? 'idle';
}

async function signIn(session, platform, conversationId) {
  client?.close();
  const token = await fetchToken(session, platform);
  me = { session, platform };
  openId = null;
  saveCurrent();
  client = new QuickImClient({
    baseUrl: location.origin,
    token,
    getToken: () => fetchToken(session, platform),
    lastMsgId: localStorage.getItem(lastMsgIdKey()) ?? undefined,
  });
  client.on('message', onMessage);
  client.on('state', showConnection);
  client.on('connected', showConnection);
  client.on('replaced', () => {
    ui.replaced.hidden = false;
  });
  ui.me.textContent = `${session} · platform ${platform}`;
  ui.replaced.hidden = true;
  ui.signIn.hidden = true;
  ui.chat.hidden = false;
  ui.me.hidden = false;
  ui.signOut.hidden = false;
  ui.conversations.replaceChildren();
  closeConversation();
  // Push connects while the list loads; a message arriving meanwhile is merged, not lost.
  client.connect().catch(showError);
  await refreshConversations();
  if (conversationId && conversationItem(conversationId)) await openConversation(conversationId);
}

function signOut() {
  client?.close();
  client = null;
  me = null;
  openId = null;
  sessionStorage.removeItem(CURRENT_KEY);
  showConnection();
  ui.chat.hidden = true;
  ui.me.hidden = true;
  ui.signOut.hidden = true;
  ui.replaced.hidden = true;
  ui.signIn.hidden = false;
}

function onMessage(msg) {
  const stored = localStorage.getItem(lastMsgIdKey());
  if (stored === null || msg.MsgId > stored) localStorage.setItem(lastMsgIdKey(), msg.MsgId);
  const item = conversationItem(msg.ConversationID) ?? addConversation(msg.ConversationID);
  showPreview(item, msg);
  ui.conversations.prepend(item);
  if (msg.ConversationID !== openId) {
    item.classList.add('unread');
    return;
  }
  const atBottom =
    ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < TOP_MARGIN_PX;
  insertMessages([msg]);
  if (atBottom || msg.FromSession === me.session) scrollToBottom();
}

// Conversation list -----------------------------------------------------------------------

function conversationItem(id) {
  return [...ui.conversations.children].find((li) => li.dataset.conversationId === id);
}

function addConversation(id) {
  const li = document.createElement('li');
  li.dataset.conversationId = id;
  li.dataset.testid = 'conversation';
  li.title = id;
  const button = document.createElement('button');
  button.type = 'button';
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = id.slice(0, 8);
  const preview = document.createElement('span');
  preview.className = 'preview muted';
  preview.textContent = 'no messages yet';
  button.append(name, preview);
  button.addEventListener(
    'click',
    act(() => openConversation(id)),
  );
  li.append(button);
  ui.conversations.append(li);
  return li;
}

function showPreview(item, msg) {
  item.querySelector('.preview').textContent = `${msg.FromSession}: ${msg.Content}`;
  item.dataset.lastMsgId = msg.MsgId;
}

/** Lists the joined conversations, the most recently active first. */
async function refreshConversations() {
  const ids = await client.getJoinedConversations();
  // A preview that fails to load (say, kicked in the meantime) leaves its entry without one.
  const lasts = await Promise.all(ids.map((id) => client.getLastMessage(id).catch(() => null)));
  for (const [i, id] of ids.entries()) {
    const item = conversationItem(id) ?? addConversation(id);
    const last = lasts[i];
    if (last) showPreview(item, last);
  }
  const items = [...ui.conversations.children];
  items.sort((a, b) => (b.dataset.lastMsgId ?? '').localeCompare(a.dataset.lastMsgId ?? ''));
  ui.conversations.replaceChildren(...items);
  markOpen();
}

function markOpen() {
  for (const li of ui.conversations.children) {
    li.classList.toggle('open', li.dataset.conversationId === openId);
  }
}

async function createConversation() {
  const sessions = ui.createSessions.value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const id = await client.createConversation({ type: 0, sessions });
  ui.createSessions.value = '';
  if (!conversationItem(id)) ui.conversations.prepend(addConversation(id));
  await openConversation(id);
}

async function joinConversation() {
  const id = ui.joinId.value.trim();
  await client.joinConversation(id);
  ui.joinId.value = '';
  if (!conversationItem(id)) ui.conversations.prepend(addConversation(id));
  await openConversation(id);
}

// Open conversation -----------------------------------------------------------------------

function closeConversation() {
  openSeq += 1;
  openId = null;
  hasOlder = false;
  ui.messages.replaceChildren();
  ui.historyNote.textContent = 'Open a conversation on the left, or create one.';
  ui.conversationId.textContent = 'none open';
  ui.input.disabled = true;
  ui.send.disabled = true;
}

async function openConversation(id) {
  closeConversation();
  const seq = openSeq;
  openId = id;
  saveCurrent();
  markOpen();
  conversationItem(id)?.classList.remove('unread');
  ui.conversationId.textContent = id;
  ui.input.disabled = false;
  ui.send.disabled = false;
  ui.input.focus();
  const last = await client.getLastMessages(id);
  if (seq !== openSeq) return;
  insertMessages(last);
  setHasOlder(last.length === HISTORY_PAGE);
  scrollToBottom();
  await fillScroller(seq);
}

function setHasOlder(value) {
  hasOlder = value;
  ui.historyNote.textContent = value ? 'Scroll up for older messages' : 'Start of the conversation';
}

/** Adds the page of messages before the oldest one shown; false when there was nothing to do. */
async function loadOlder(seq) {
  const first = ui.messages.firstElementChild;
  if (seq !== openSeq || loadingOlderFor === seq || !hasOlder || !first) return false;
  loadingOlderFor = seq;
  try {
    const older = await client.getMessagesBefore(openId, first.dataset.msgId);
    if (seq !== openSeq) return false;
    // Keep the messages on screen where they are while older ones are added above them.
    const before = ui.scroller.scrollHeight;
    insertMessages(older);
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
    if (msg.ConversationID !== openId) continue;
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
  const li = document.createElement('li');
  li.className = msg.FromSession === me.session ? 'message mine' : 'message';
  li.dataset.msgId = msg.MsgId;
  li.dataset.testid = 'message';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = msg.FromSession;
  const time = document.createElement('time');
  const sent = new Date(msg.SendTime / 1000); // SendTime is in microseconds
  time.dateTime = sent.toISOString();
  time.textContent = sent.toLocaleTimeString();
  meta.append(from, time);
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = msg.Content;
  li.append(meta, text);
  return li;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

async function sendMessage() {
  const content = ui.input.value;
  if (content.trim() === '' || openId === null) return;
  await client.sendMessage({ conversationId: openId, content, type: 1 });
  ui.input.value = '';
}

// Wiring ----------------------------------------------------------------------------------

ui.signIn.addEventListener(
  'submit',
  // An empty platform is NaN, sent as null, which the token endpoint refuses with a message.
  act(() => signIn(ui.session.value.trim(), ui.platform.valueAsNumber)),
);
ui.signOut.addEventListener(
  'click',
  act(async () => signOut()),
);
ui.refresh.addEventListener(
  'click',
  act(() => refreshConversations()),
);
ui.createForm.addEventListener('submit', act(createConversation));
ui.joinForm.addEventListener('submit', act(joinConversation));
ui.sendForm.addEventListener('submit', act(sendMessage));
ui.error.addEventListener('click', () => {
  ui.error.hidden = true;
});
ui.scroller.addEventListener('scroll', () => {
  if (ui.scroller.scrollTop < TOP_MARGIN_PX) loadOlder(openSeq).catch(showError);
});

const saved = JSON.parse(sessionStorage.getItem(CURRENT_KEY) ?? 'null');
if (saved) {
  ui.session.value = saved.session;
  ui.platform.value = String(saved.platform);
  signIn(saved.session, saved.platform, saved.conversationId).catch(showError);
} else {
  ui.session.focus();
}
showConnection();
