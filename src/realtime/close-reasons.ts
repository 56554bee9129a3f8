import { ErrorCode } from '../domain/errors.js';

/**
 * Why the server ends a push connection, and how each protocol says it: the WebSocket close
 * code, the SSE event name (with `data: {"code","error"}`) and the long-poll answer.
 */
export const CloseReason = {
  Replaced: 'replaced',
  Slow: 'slow',
  Expired: 'expired',
  GoingAway: 'going-away',
  HeartbeatTimeout: 'heartbeat-timeout',
  Unavailable: 'unavailable',
} as const;

export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

interface CloseSpec {
  readonly wsCode: number;
  readonly sseEvent: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export const closeSpecs: Readonly<Record<CloseReason, CloseSpec>> = {
  [CloseReason.Replaced]: {
    wsCode: 4001,
    sseEvent: 'kickout',
    code: ErrorCode.Replaced,
    message: 'logged in elsewhere; connection replaced',
  },
  [CloseReason.Slow]: {
    wsCode: 4008,
    sseEvent: 'slow',
    code: ErrorCode.Internal,
    message: 'client too slow; resume with last_msg_id',
  },
  [CloseReason.Expired]: {
    wsCode: 4010,
    sseEvent: 'expired',
    code: ErrorCode.Unauthorized,
    message: 'token expired',
  },
  [CloseReason.GoingAway]: {
    wsCode: 1001,
    sseEvent: 'shutdown',
    code: ErrorCode.Internal,
    message: 'server shutting down; reconnect with last_msg_id',
  },
  [CloseReason.HeartbeatTimeout]: {
    wsCode: 4000,
    sseEvent: 'timeout',
    code: ErrorCode.Internal,
    message: 'heartbeat missed',
  },
  [CloseReason.Unavailable]: {
    wsCode: 1012,
    sseEvent: 'unavailable',
    code: ErrorCode.Internal,
    message: 'live delivery interrupted; reconnect with last_msg_id',
  },
};
