// The quick-im demo chat: plain browser modules over the @quick-im/client SDK. Everything a
// user typed is rendered with textContent, never as HTML. This module signs in and out and
// wires the client's events and the page's controls to the list (conversations.js), the open
// conversation (room.js) and its members (members.js).
import { QuickImClient } from './sdk/index.js';
import {
  conversationItem,
  ensureConversation,
  refreshConversations,
  removeConversation,
  resetConversations,
  scheduleRefresh,
  showPreview,
} from './conversations.js';
import {
  TOP_MARGIN_PX,
  closeConversation,
  loadOlder,
  markReadIfVisible,
  onMessage as showMessage,
  onRead,
  openConversation,
  refreshMembers,
  sendMessage,
} from './room.js';
import { act, chat, pageVisible, showError, ui } from './ui.js';

/** Who this tab is signed in as and what it has open (survives a reload, not the tab). */
const CURRENT_KEY = 'quickim-demo:current';
/** Presence has no event: the open conversation's member list is reloaded this often. */
const PRESENCE_REFRESH_MS = 5_000;

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
  return `quickim-demo:lastMsgId:${JSON.stringify([chat.me.session, chat.me.platform])}`;
}

function saveCurrent() {
  sessionStorage.setItem(CURRENT_KEY, JSON.stringify({ ...chat.me, conversationId: chat.openId }));
}

function showConnection() {
  const client = chat.client;
  ui.state.textContent = client?.state ?? 'idle';
  ui.transport.textContent = client?.transport ?? 'none';
  document.body.dataset.state = client?.state ?? 'idle';
}

async function signIn(session, platform, conversationId) {
  chat.client?.close();
  const token = await fetchToken(session, platform);
  chat.me = { session, platform };
  chat.openId = null;
  saveCurrent();
  const client = new QuickImClient({
    baseUrl: location.origin,
    token,
    getToken: () => fetchToken(session, platform),
    lastMsgId: localStorage.getItem(lastMsgIdKey()) ?? undefined,
    // read / joined / left events: unread badges, "Seen by" and the member list stay live.
    events: true,
  });
  chat.client = client;
  let connectedBefore = false;
  client.on('message', onMessage);
  client.on('read', onRead);
  client.on('joined', onMembership);
  client.on('left', onMembership);
  client.on('state', showConnection);
  client.on('connected', () => {
    showConnection();
    // Events are never replayed: after a reconnect, read what may have changed meanwhile.
    if (connectedBefore) resync();
    connectedBefore = true;
  });
  client.on('replaced', () => {
    ui.replaced.hidden = false;
  });
  ui.me.textContent = `${session} · platform ${platform}`;
  ui.replaced.hidden = true;
  ui.signIn.hidden = true;
  ui.chat.hidden = false;
  ui.me.hidden = false;
  ui.signOut.hidden = false;
  resetConversations();
  closeConversation();
  // Push connects while the list loads; a message arriving meanwhile is merged, not lost.
  client.connect().catch(showError);
  await refreshConversations();
  if (conversationId && conversationItem(conversationId)) await open(conversationId);
}

function signOut() {
  chat.client?.close();
  chat.client = null;
  closeConversation();
  resetConversations();
  chat.me = null;
  sessionStorage.removeItem(CURRENT_KEY);
  showConnection();
  ui.chat.hidden = true;
  ui.me.hidden = true;
  ui.signOut.hidden = true;
  ui.replaced.hidden = true;
  ui.signIn.hidden = false;
}

function open(id) {
  return openConversation(id, saveCurrent);
}

function resync() {
  refreshConversations().catch(showError);
  refreshMembers().catch(showError);
}

function onMessage(msg) {
  const stored = localStorage.getItem(lastMsgIdKey());
  if (stored === null || msg.MsgId > stored) localStorage.setItem(lastMsgIdKey(), msg.MsgId);
  const item = conversationItem(msg.ConversationID) ?? ensureConversation(msg.ConversationID);
  showPreview(item, msg);
  ui.conversations.prepend(item);
  showMessage(msg);
}

/** `joined` / `left`: the caller's own change edits the list; anyone's, the open member list. */
function onMembership(event) {
  const id = event.ConversationID;
  if (event.Sessions.includes(chat.me.session)) {
    if (event.Event === 'joined') {
      ensureConversation(id);
      scheduleRefresh(showError);
    } else {
      if (id === chat.openId) {
        closeConversation();
        saveCurrent();
        ui.historyNote.textContent = event.Kicked
          ? 'You were removed from that conversation.'
          : 'You left that conversation.';
      }
      removeConversation(id);
      return;
    }
  }
  if (id === chat.openId) refreshMembers().catch(showError);
}

async function createConversation() {
  const sessions = ui.createSessions.value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const id = await chat.client.createConversation({ type: 0, sessions });
  ui.createSessions.value = '';
  ui.conversations.prepend(ensureConversation(id));
  await open(id);
}

async function joinConversation() {
  const id = ui.joinId.value.trim();
  await chat.client.joinConversation(id);
  ui.joinId.value = '';
  ui.conversations.prepend(ensureConversation(id));
  await open(id);
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
ui.conversations.addEventListener(
  'click',
  act(async (event) => {
    const id = event.target.closest('[data-conversation-id]')?.dataset.conversationId;
    if (id !== undefined) await open(id);
  }),
);
ui.createForm.addEventListener('submit', act(createConversation));
ui.joinForm.addEventListener('submit', act(joinConversation));
ui.sendForm.addEventListener('submit', act(sendMessage));
ui.error.addEventListener('click', () => {
  ui.error.hidden = true;
});
ui.scroller.addEventListener('scroll', () => {
  if (ui.scroller.scrollTop < TOP_MARGIN_PX) loadOlder().catch(showError);
});
// Read while looking: coming back to the page marks the open conversation read.
document.addEventListener('visibilitychange', () => {
  if (!pageVisible() || chat.client === null) return;
  markReadIfVisible().catch(showError);
  refreshMembers().catch(showError);
});
setInterval(() => {
  if (chat.client !== null && pageVisible()) refreshMembers().catch(() => {});
}, PRESENCE_REFRESH_MS);

const saved = JSON.parse(sessionStorage.getItem(CURRENT_KEY) ?? 'null');
if (saved) {
  ui.session.value = saved.session;
  ui.platform.value = String(saved.platform);
  signIn(saved.session, saved.platform, saved.conversationId).catch(showError);
} else {
  ui.session.focus();
}
showConnection();
