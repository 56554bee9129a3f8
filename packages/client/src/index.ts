/**
 * @quick-im/client: the quick-im client SDK. Typed HTTP calls for every public endpoint, and
 * push over WebSocket, Server-Sent Events or long-poll with fallback, reconnect, resume from
 * the last MsgId and de-duplication; idempotent sends; opt-in read/joined/left events. No
 * runtime dependency; browsers and Node >= 20.
 */
export { QuickImClient } from './client.js';
export type { HistoryOptions } from './client.js';
export { ErrorCode, QuickImError } from './errors.js';
export { DisconnectReason } from './close-reasons.js';
export type {
  ClientEvents,
  ClientOptions,
  ConnectedEvent,
  ConnectionState,
  ConversationDetail,
  ConversationList,
  ConversationListEntry,
  DisconnectedEvent,
  JoinedEvent,
  LeftEvent,
  Member,
  MemberPage,
  MsgData,
  PushEvent,
  ReadEvent,
  ReconnectOptions,
  Transport,
  WebSocketConstructor,
  WebSocketEventLike,
  WebSocketLike,
} from './types.js';

export const VERSION = '0.1.0';
