/** The one catalogue of error codes (docs/api.md "Envelope"). No numeric codes at call sites. */
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
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

/** HTTP status and default message per code; the README's error table mirrors this. */
export const errorSpecs: Readonly<Record<ErrorCode, ErrorSpec>> = {
  [ErrorCode.InvalidParameter]: { status: 400, message: 'invalid parameter' },
  [ErrorCode.Internal]: { status: 500, message: 'internal error' },
  [ErrorCode.InnerForbidden]: { status: 403, message: 'address not allowed for inner endpoints' },
  [ErrorCode.NotMember]: { status: 403, message: 'not a member of the conversation' },
  [ErrorCode.ConversationNotFound]: { status: 404, message: 'conversation not found' },
  [ErrorCode.RateLimited]: {
    status: 429,
    message: 'too many requests; retry after Retry-After seconds',
  },
  [ErrorCode.TooLarge]: { status: 413, message: 'body or content too large' },
  [ErrorCode.Replaced]: { status: 409, message: 'logged in elsewhere; connection replaced' },
  [ErrorCode.Unauthorized]: {
    status: 401,
    message: 'missing, malformed, expired or invalid token',
  },
  [ErrorCode.RouteNotFound]: { status: 404, message: 'no such route' },
  [ErrorCode.BadConversationType]: {
    status: 400,
    message: 'conversation type must be an integer from 0 to 15',
  },
  [ErrorCode.NoMembers]: {
    status: 400,
    message: 'a conversation needs at least one member session',
  },
  [ErrorCode.BadProtocol]: { status: 400, message: 'unsupported push protocol' },
};

/** The failure envelope (docs/api.md "Envelope"): a non-zero code and an error text, no `data`. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly error: string;
}

/** The success envelope: code 0 and, when there is one, the answer in `data`. */
export interface SuccessBody<T> {
  readonly code: 0;
  readonly data?: T;
}

/**
 * The one builder of the failure envelope, for every protocol: an HTTP answer, an SSE event's
 * `data`, a long-poll answer. `message` defaults to the catalogue's.
 */
export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  return { code, error: message ?? errorSpecs[code].message };
}

/** The one builder of the success envelope; without `data`, the body is `{"code":0}`. */
export function successBody<T>(data: T): SuccessBody<T> & { readonly data: T };
export function successBody(): SuccessBody<never>;
export function successBody<T>(...data: [T] | []): SuccessBody<T> {
  return data.length === 0 ? { code: 0 } : { code: 0, data: data[0] };
}

/** A failure the client caused or must know about; carries its contract code. */
export class ImError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, status?: number) {
    super(message ?? errorSpecs[code].message);
    this.name = 'ImError';
    this.code = code;
    this.status = status ?? errorSpecs[code].status;
  }
}

/** The session went over a rate limit: 10006 with HTTP 429 and `Retry-After: retryAfterSec`. */
export class RateLimitedError extends ImError {
  constructor(readonly retryAfterSec: number) {
    super(ErrorCode.RateLimited);
    this.name = 'RateLimitedError';
  }
}

/** The store or bus cannot answer right now: 10002 with HTTP 503. */
export class UnavailableError extends ImError {
  constructor(message = 'service temporarily unavailable') {
    super(ErrorCode.Internal, message, 503);
    this.name = 'UnavailableError';
  }
}
