import { ErrorCode, HttpStatus } from './errors.js';
import type { QuickImError } from './errors.js';
import type { PushEnd } from './transports/transport.js';

/** WebSocket close codes of the README's "How a connection is ended" table, plus the standard ones seen. */
export const WsCloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  ServiceRestart: 1012,
  HeartbeatTimeout: 4000,
  Replaced: 4001,
  Slow: 4008,
  TokenExpired: 4010,
  TokenRevoked: 4011,
} as const;

/**
 * SSE event names that end the stream (`message` carries MsgData; the opt-in event frames
 * `read`, `joined` and `left` are parsed in `transports/notify-request.ts`).
 */
export const SseEvent = {
  Message: 'message',
  Kickout: 'kickout',
  Slow: 'slow',
  Expired: 'expired',
  Timeout: 'timeout',
  Unavailable: 'unavailable',
  Shutdown: 'shutdown',
  Revoked: 'revoked',
} as const;

/** Why a push connection ended, as the `disconnected` event reports it. */
export const DisconnectReason = {
  /** Another login took this (session, platform). */
  Replaced: 'replaced',
  /** The token was rejected or expired. */
  TokenRejected: 'token-rejected',
  /** `getToken` failed. */
  TokenUnavailable: 'token-unavailable',
  /** The server found this client too slow; it resumes from its last MsgId. */
  Slow: 'slow',
  /** A heartbeat was missed (either side). */
  HeartbeatTimeout: 'heartbeat-timeout',
  /** The server cannot deliver live right now (bus lost, store down). */
  Unavailable: 'unavailable',
  /** The server is shutting down. */
  Shutdown: 'shutdown',
  /** The connection dropped or could not be made. */
  Network: 'network',
  /** The connection did not open within `connectTimeoutMs`. */
  ConnectTimeout: 'connect-timeout',
  /** The server answered something this client cannot use (a bad frame, a 4xx). */
  ProtocolError: 'protocol-error',
  /** `close()` was called. */
  Closed: 'closed',
} as const;

export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/** How a WebSocket close code ends a connection. */
export function endForWsClose(code: number): PushEnd {
  switch (code) {
    case WsCloseCode.Replaced:
      return { kind: 'replaced', code };
    case WsCloseCode.TokenExpired:
    case WsCloseCode.TokenRevoked:
      return { kind: 'unauthorized', code };
    case WsCloseCode.Slow:
      return { kind: 'retry', reason: DisconnectReason.Slow, code };
    case WsCloseCode.HeartbeatTimeout:
      return { kind: 'retry', reason: DisconnectReason.HeartbeatTimeout, code };
    case WsCloseCode.ServiceRestart:
      return { kind: 'retry', reason: DisconnectReason.Unavailable, code };
    case WsCloseCode.GoingAway:
      return { kind: 'retry', reason: DisconnectReason.Shutdown, code };
    default:
      return { kind: 'retry', reason: DisconnectReason.Network, code };
  }
}

/**
 * How an SSE event other than `message` ends the stream; `code` is the contract code from its
 * data. Undefined for an event name this client does not know (it is ignored).
 */
export function endForSseEvent(event: string, code: number | undefined): PushEnd | undefined {
  const withCode = code === undefined ? {} : { code };
  switch (event) {
    case SseEvent.Kickout:
      return { kind: 'replaced', code: code ?? ErrorCode.Replaced };
    case SseEvent.Expired:
    case SseEvent.Revoked:
      return { kind: 'unauthorized', ...withCode };
    case SseEvent.Slow:
      return { kind: 'retry', reason: DisconnectReason.Slow, ...withCode };
    case SseEvent.Timeout:
      return { kind: 'retry', reason: DisconnectReason.HeartbeatTimeout, ...withCode };
    case SseEvent.Unavailable:
      return { kind: 'retry', reason: DisconnectReason.Unavailable, ...withCode };
    case SseEvent.Shutdown:
      return { kind: 'retry', reason: DisconnectReason.Shutdown, ...withCode };
    default:
      return undefined;
  }
}

/**
 * How an HTTP failure answer to `/notify` (sse or poll) ends the connection: 401 renews the
 * token, 409 is a replacement, 5xx and 429 are worth retrying, any other 4xx is a mistake that
 * retrying would repeat.
 */
export function endForHttpFailure(err: QuickImError): PushEnd {
  if (err.status === HttpStatus.Unauthorized || err.code === ErrorCode.Unauthorized) {
    return { kind: 'unauthorized', code: err.code };
  }
  if (err.status === HttpStatus.Conflict && err.code === ErrorCode.Replaced) {
    return { kind: 'replaced', code: err.code };
  }
  if (err.status === 0) return { kind: 'retry', reason: DisconnectReason.Network };
  if (err.status >= 500 || err.status === 429) {
    return { kind: 'retry', reason: DisconnectReason.Unavailable, code: err.code };
  }
  return { kind: 'fatal', error: err };
}
