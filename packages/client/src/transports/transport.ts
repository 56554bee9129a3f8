import type { DisconnectReason } from '../close-reasons.js';
import type { QuickImError } from '../errors.js';
import type { MsgData, PushEvent, Transport } from '../types.js';

/** What one push connection is opened with. */
export interface ConnectParams {
  /** The server's base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly token: string;
  /** Resume point sent as `last_msg_id`: the server first replays every message after it. Null: live only. */
  readonly lastMsgId: string | null;
  /** Ask for event frames (`events=1`); only ws and sse carry them. */
  readonly events: boolean;
}

/** Callbacks of one push connection. None fires synchronously inside `connect`, and none after `close()`. */
export interface PushHandlers {
  /** The server accepted the token and attached the connection. At most once, before any message. */
  onOpen(): void;
  /** One pushed message, in the order the server sent them. */
  onMessage(msg: MsgData): void;
  /** One event frame (only when `events` was asked for), in stream order with the messages. */
  onEvent(event: PushEvent): void;
  /** The connection ended, before or after opening. Exactly once, unless `close()` came first. */
  onEnd(end: PushEnd): void;
}

/**
 * Why a connection ended, classified for the reconnect logic:
 * - `retry`: reconnect (after a backoff wait) with `last_msg_id`;
 * - `unauthorized`: the token was rejected or expired; renew it, then reconnect;
 * - `replaced`: another login took this (session, platform); never reconnect by itself;
 * - `fatal`: the server refused something retrying would repeat (e.g. a malformed `last_msg_id`).
 */
export type PushEnd =
  | { readonly kind: 'retry'; readonly reason: DisconnectReason; readonly code?: number }
  | { readonly kind: 'unauthorized'; readonly code?: number }
  | { readonly kind: 'replaced'; readonly code: number }
  | { readonly kind: 'fatal'; readonly error: QuickImError };

/** An open (or opening) push connection. */
export interface PushConnection {
  /** Ends the connection and releases its sockets and timers; idempotent; no handler fires afterwards. */
  close(): void;
}

/** One push protocol of `GET /notify`. */
export interface PushTransport {
  readonly name: Transport;
  /** Starts one connection; its outcome arrives through `handlers`. */
  connect(params: ConnectParams, handlers: PushHandlers): PushConnection;
}
