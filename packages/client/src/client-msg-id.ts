import { ErrorCode, HttpStatus, QuickImError } from './errors.js';
import type { ReconnectOptions } from './types.js';

/** How many times `sendMessage` repeats a send by default (see `ClientOptions.sendRetries`). */
export const DEFAULT_SEND_RETRIES = 2;

/** Waits between send retries: short, since a user is looking at a pending message. */
export const SEND_RETRY_BACKOFF: Required<ReconnectOptions> = {
  initialDelayMs: 300,
  maxDelayMs: 3_000,
  factor: 3,
};

/**
 * A fresh `client_msg_id`: a random UUID (36 characters, all printable ASCII, as the contract's
 * 1..64 `!`..`~` asks). `crypto.randomUUID` exists only in secure contexts (HTTPS, localhost);
 * elsewhere 16 bytes of `crypto.getRandomValues`, which every browser has, in hex.
 */
export function newClientMsgId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether a send may be repeated with the same `client_msg_id`: no answer came (the message may
 * or may not be stored; the server deduplicates a repeat), or the server answered 503 (it was
 * not stored, or a repeat answers the stored one's MsgID).
 */
export function isSendRetryable(err: unknown): boolean {
  return (
    err instanceof QuickImError &&
    ((err.code === ErrorCode.Network && err.status === 0) ||
      err.status === HttpStatus.ServiceUnavailable)
  );
}
