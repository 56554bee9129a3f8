// The page's elements, and the few helpers every part of the demo uses to show things.

const $ = (id) => document.getElementById(id);

export const ui = {
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
  members: $('members'),
  scroller: $('scroller'),
  historyNote: $('history-note'),
  messages: $('messages'),
  sendForm: $('send-form'),
  input: $('message-input'),
  send: $('send'),
};

/**
 * Who is signed in and what is open, shared by the modules: `client` is the QuickImClient,
 * `me` `{ session, platform }`, `openId` the conversation on screen (all null when signed out).
 */
export const chat = { client: null, me: null, openId: null };

export function showError(err) {
  const code = typeof err?.code === 'number' ? ` (code ${err.code})` : '';
  ui.error.textContent = `${err?.message ?? String(err)}${code}`;
  ui.error.hidden = false;
}

/** Runs an action from a button or form; a failure shows in the error banner. */
export function act(fn) {
  return (event) => {
    event?.preventDefault();
    ui.error.hidden = true;
    fn(event).catch(showError);
  };
}

/** A new element with `className` and, if given, `text` as its text (never as HTML). */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The greater of two MsgIds of one conversation (they compare as strings); null is least. */
export function laterId(a, b) {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return a > b ? a : b;
}

/** Whether the user can see the page: reads are marked and presence refreshed only then. */
export function pageVisible() {
  return document.visibilityState === 'visible';
}
