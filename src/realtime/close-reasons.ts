import { ErrorCode } from '../domain/errors.js';

/**
 * Why the server ends a push connection, and how each protocol says it: the WebSocket close
 * code, the SSE event name (with `data: {"code","error"}`) and the long-poll answer. The
 * README's "How a connection is ended" table and the SDK's copy are tested against this.
 */
export const CloseReason = {
  Replaced: 'replaced',
  Slow: 'slow',
  Expired: 'expired',
  GoingAway: 'going-away',
  HeartbeatTimeout: 'heartbeat-timeout',
  Unavailable: 'unavailable',
  Revoked: 'revoked',
} as const;

export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

interface CloseSpec {
  /** The WebSocket close code. */
  readonly wsCode: number;
  /** The SSE event that ends the stream; its `data` is `errorBody(code, message)`. */
  readonly sseEvent: string;
  /** The contract code in the SSE event's data. */
  readonly code: ErrorCode;
  readonly message: string;
  /** The HTTP status a waiting long-poll request is answered with. */
  readonly pollStatus: number;
  /** The contract code of that answer; its `error` is the error catalogue's message. */
  readonly pollCode: ErrorCode;
}

// A waiting poll is told why only when the client must act differently: replaced (stop),
// expired or revoked (get a new token); everything else is "unavailable, poll again".
const pollRetry = { pollStatus: 503, pollCode: ErrorCode.Internal } as const;

export const closeSpecs: Readonly<Record<CloseReason, CloseSpec>> = {
  [CloseReason.Replaced]: {
    wsCode: 4001,
    sseEvent: 'kickout',
    code: ErrorCode.Replaced,
    message: 'logged in elsewhere; connection replaced',
    pollStatus: 409,
    pollCode: ErrorCode.Replaced,
  },
  [CloseReason.Slow]: {
    wsCode: 4008,
    sseEvent: 'slow',
    code: ErrorCode.Internal,
    message: 'client too slow; resume with last_msg_id',
    ...pollRetry,
  },
  [CloseReason.Expired]: {
    wsCode: 4010,
    sseEvent: 'expired',
    code: ErrorCode.Unauthorized,
    message: 'token expired',
    pollStatus: 401,
    pollCode: ErrorCode.Unauthorized,
  },
  [CloseReason.GoingAway]: {
    wsCode: 1001,
    sseEvent: 'shutdown',
    code: ErrorCode.Internal,
    message: 'server shutting down; reconnect with last_msg_id',
    ...pollRetry,
  },
  [CloseReason.HeartbeatTimeout]: {
    wsCode: 4000,
    sseEvent: 'timeout',
    code: ErrorCode.Internal,
    message: 'heartbeat missed',
    ...pollRetry,
  },
  [CloseReason.Unavailable]: {
    wsCode: 1012,
    sseEvent: 'unavailable',
    code: ErrorCode.Internal,
    message: 'live delivery interrupted; reconnect with last_msg_id',
    ...pollRetry,
  },
  [CloseReason.Revoked]: {
    wsCode: 4011,
    sseEvent: 'revoked',
    code: ErrorCode.Unauthorized,
    message: 'token revoked',
    pollStatus: 401,
    pollCode: ErrorCode.Unauthorized,
  },
};
