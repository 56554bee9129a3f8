/**
 * The one catalogue of error codes the SDK reports. The contract's codes (CONTRACT.md
 * "Envelope") arrive in the server's `{"code","error"}` envelope; the client's own codes, all
 * below 100, name failures that never produced an envelope.
 */
export const ErrorCode = {
  InvalidParameter: 10001,
  Internal: 10002,
  InnerForbidden: 10003,
  NotMember: 10004,
  ConversationNotFound: 10005,
  RateLimited: 10006,
  TooLarge: 10007,
  Replaced: 10009,
  Unauthorized: 10101,
  RouteNotFound: 10404,
  BadConversationType: 90010,
  NoMembers: 90011,
  BadProtocol: 90013,
  /** No answer at all: connection refused, DNS, CORS, TLS, aborted. `status` is 0. */
  Network: 1,
  /** An answer without the envelope, e.g. a proxy's HTML error page. `status` is its HTTP status. */
  BadResponse: 2,
  /** `close()` was called before the operation finished. `status` is 0. */
  Closed: 3,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The HTTP statuses the SDK acts on; any other failure status is reported as it came. */
export const HttpStatus = {
  Ok: 200,
  NoContent: 204,
  Unauthorized: 401,
  Conflict: 409,
  ServiceUnavailable: 503,
} as const;

/** Every failure the SDK reports: the contract's `code` and the HTTP `status` it came with. */
export class QuickImError extends Error {
  /** A contract code (10001…90013) or one of the client's own codes (see `ErrorCode`). */
  readonly code: number;
  /** The HTTP status of the answer, or 0 when there was none (network failure, closed). */
  readonly status: number;

  constructor(code: number, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuickImError';
    this.code = code;
    this.status = status;
  }
}

/** Whether the failure was the token: missing, malformed, expired or wrongly signed. */
export function isTokenRejected(err: unknown): err is QuickImError {
  return err instanceof QuickImError && err.code === ErrorCode.Unauthorized;
}
