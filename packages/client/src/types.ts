import type { DisconnectReason } from './close-reasons.js';

/** A push protocol of `GET /notify`. */
export type Transport = 'ws' | 'sse' | 'poll';

/**
 * Where push stands. `connecting` until the first connection opens, `reconnecting` after one
 * was lost (including the backoff wait), `replaced` after another login took this (session,
 * platform), `closed` after `close()` or a failure that retrying cannot fix.
 */
export type ConnectionState =
  'idle' | 'connecting' | 'connected' | 'reconnecting' | 'replaced' | 'closed';

/** A message exactly as the server sends it (CONTRACT.md "Objects"). */
export interface MsgData {
  /** `XXXXX-XXXX-XXXX-XXX`; increasing as plain strings within one conversation. */
  MsgId: string;
  ConversationID: string;
  FromSession: string;
  /** Microseconds since the Unix epoch, set by the server. */
  SendTime: number;
  Status: number;
  Type: number;
  Content: string;
}

export interface ConversationDetail {
  ConversationID: string;
  LastMsgID: string | null;
  /** Microseconds since the Unix epoch, or null before the first message. */
  LastSendTime: number | null;
  /** Reserved; always false. */
  IsDelete: boolean;
  ConversationType: number;
  LastSendSession: string | null;
  IsArchive: boolean;
}

/** One entry of `conversationList()`: a conversation of the caller with its read state. */
export interface ConversationListEntry {
  ConversationID: string;
  ConversationType: number;
  IsArchive: boolean;
  LastMsgID: string | null;
  /** Microseconds since the Unix epoch, or null before the first message. */
  LastSendTime: number | null;
  LastSendSession: string | null;
  /** The caller's read cursor; null before its first read in a conversation that had none. */
  ReadMsgId: string | null;
  /** Messages after `ReadMsgId` not sent by the caller, capped at 10,000. */
  Unread: number;
}

export interface ConversationList {
  /** The sum of every entry's `Unread`. */
  Total: number;
  /** Newest `LastSendTime` first; conversations without messages last. */
  Conversations: ConversationListEntry[];
}

/** One current member of a conversation. */
export interface Member {
  Session: string;
  /** The member's read cursor, or null before its first read. */
  ReadMsgId: string | null;
  /** Whether the session has a push connection (or a recent long-poll) on any node. */
  Online: boolean;
}

/** One page of `conversationMembers()`: up to 500 members in byte order of session. */
export interface MemberPage {
  ConversationID: string;
  Members: Member[];
  /** Pass it as `after` for the next page; null on the last page. */
  Next: string | null;
}

/** Push event: a member's read cursor advanced through `markRead` (the reader's own included). */
export interface ReadEvent {
  Event: 'read';
  ConversationID: string;
  Session: string;
  ReadMsgId: string;
}

/** Push event: a create, join or inner join added these sessions (the receiver may be one). */
export interface JoinedEvent {
  Event: 'joined';
  ConversationID: string;
  Sessions: string[];
}

/** Push event: these sessions left, or were kicked (`Kicked`); the receiver may be one of them. */
export interface LeftEvent {
  Event: 'left';
  ConversationID: string;
  Sessions: string[];
  Kicked: boolean;
}

/** The event frames `events: true` adds to push; live hints, never replayed on resume. */
export type PushEvent = ReadEvent | JoinedEvent | LeftEvent;

/** The events a Node or browser WebSocket hands to `addEventListener`, narrowed to what is read. */
export interface WebSocketEventLike {
  readonly type: string;
  /** `message`: the frame; a string for the text frames quick-im sends. */
  readonly data?: unknown;
  /** `close`: the close code (1006 when the connection dropped or never opened). */
  readonly code?: number;
}

/** The part of the WebSocket API the SDK uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: WebSocketEventLike) => void,
  ): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Backoff between reconnect attempts: a random delay in [0, min(maxDelayMs, initialDelayMs · factor^n)). */
export interface ReconnectOptions {
  /** Ceiling of the first delay; default 500. */
  initialDelayMs?: number;
  /** Largest ceiling; default 15000. */
  maxDelayMs?: number;
  /** Growth of the ceiling per failed attempt; default 2. */
  factor?: number;
}

export interface ClientOptions {
  /** The server's origin, optionally with a path prefix: `'http://127.0.0.1:8088'`, `location.origin`. */
  baseUrl: string;
  /** The initial token; when absent, `getToken` is called before the first request. */
  token?: string;
  /**
   * Supplies a fresh token: called when there is none, and when one is rejected (HTTP 401 /
   * 10101, ws close 4010, sse `expired`, poll 401); the rejected call is then retried once.
   */
  getToken?: () => Promise<string>;
  /** `'auto'` (default) tries ws, then sse, then poll. */
  transport?: Transport | 'auto';
  /** Resume point for the first connect (e.g. kept in localStorage): the server replays what came after it. */
  lastMsgId?: string;
  /**
   * WebSocket constructor; default `globalThis.WebSocket`. Node 20 has none: pass `WebSocket`
   * from the `ws` package. Without one, `'auto'` starts at sse.
   */
  WebSocket?: WebSocketConstructor;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  reconnect?: ReconnectOptions;
  /** How long one long-poll may wait on the server, 0..60 seconds; default 25. */
  pollTimeoutSeconds?: number;
  /** Most messages one long-poll answer carries, 1..100; default 100. */
  pollBatch?: number;
  /** How long one connection attempt may take to open before the next transport is tried; default 5000. */
  connectTimeoutMs?: number;
  /**
   * Ask push for event frames (`events=1`): `read`, `joined` and `left` are then emitted.
   * Default false, and the stream is exactly the seed's. Long-poll carries no events: with
   * `transport: 'poll'` the constructor throws, and `'auto'` falls back from ws to sse only.
   */
  events?: boolean;
  /**
   * How many times `sendMessage` repeats a send that got no answer (network failure) or a 503,
   * with the same `clientMsgId`, so the message is stored once; default 2, 0 turns it off.
   */
  sendRetries?: number;
}

export interface ConnectedEvent {
  readonly transport: Transport;
}

export interface DisconnectedEvent {
  readonly transport: Transport;
  readonly reason: DisconnectReason;
  /** The WebSocket close code (ws), or the contract code the server gave (sse, poll), if any. */
  readonly code?: number;
  /** False when push has stopped for good: replaced, closed, or a token that cannot be renewed. */
  readonly willReconnect: boolean;
}

/** Event name → the value its listeners receive. */
export interface ClientEvents {
  /** Each message once (de-duplicated by MsgId), in MsgId order within a conversation. */
  message: MsgData;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  /** Another login took this (session, platform); push does not reconnect by itself. */
  replaced: void;
  state: ConnectionState;
  /** With `events: true`: a member's read cursor advanced. */
  read: ReadEvent;
  /** With `events: true`: sessions joined a conversation of the caller. */
  joined: JoinedEvent;
  /** With `events: true`: sessions left or were kicked from a conversation of the caller. */
  left: LeftEvent;
}
