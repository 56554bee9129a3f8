import { DisconnectReason } from './close-reasons.js';
import type { ConnectParams, PushEnd, PushTransport } from './transports/transport.js';
import type { MsgData, PushEvent } from './types.js';

/** How one connection attempt went. */
export interface AttemptOutcome {
  /** Whether it opened before it ended. */
  readonly opened: boolean;
  /** How long it was open, in ms; 0 if it never opened. */
  readonly upMs: number;
  readonly end: PushEnd;
}

export interface AttemptCallbacks {
  onOpen(): void;
  onMessage(msg: MsgData): void;
  onEvent(event: PushEvent): void;
}

/**
 * Runs one push connection from opening to its end. Resolves with how it ended, or with null
 * when `signal` aborted it (the connection is then closed). A connection not open within
 * `connectTimeoutMs` is closed and ends as `retry` / `connect-timeout`. No callback fires
 * after the promise settles.
 */
export function runAttempt(
  transport: PushTransport,
  params: ConnectParams,
  callbacks: AttemptCallbacks,
  connectTimeoutMs: number,
  signal: AbortSignal,
): Promise<AttemptOutcome | null> {
  return new Promise((resolve) => {
    let opened = false;
    let openedAt = 0;
    let settled = false;
    const finish = (end: PushEnd | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(end === null ? null : { opened, upMs: opened ? Date.now() - openedAt : 0, end });
    };
    const connection = transport.connect(params, {
      onOpen: () => {
        if (settled) return;
        opened = true;
        openedAt = Date.now();
        clearTimeout(timer);
        callbacks.onOpen();
      },
      onMessage: (msg) => {
        if (!settled) callbacks.onMessage(msg);
      },
      onEvent: (event) => {
        if (!settled) callbacks.onEvent(event);
      },
      onEnd: (end) => finish(end),
    });
    // Handlers never fire inside connect(), so these exist before anything can call finish.
    const onAbort = (): void => {
      connection.close();
      finish(null);
    };
    const timer = setTimeout(() => {
      connection.close();
      finish({ kind: 'retry', reason: DisconnectReason.ConnectTimeout });
    }, connectTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
