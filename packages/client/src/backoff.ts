import type { ReconnectOptions } from './types.js';

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  factor: 2,
};

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the n-th delay is uniform in [0, min(maxDelayMs, initialDelayMs · factor^n)), so
 * many clients dropped at once by a restarting server do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;
  private readonly options: Required<ReconnectOptions>;

  constructor(
    options: ReconnectOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...DEFAULT_RECONNECT, ...definedOnly(options) };
  }

  /** The next delay in ms; each call widens the range until `reset`. */
  next(): number {
    const { initialDelayMs, maxDelayMs, factor } = this.options;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** this.attempt);
    if (ceiling < maxDelayMs) this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** Back to the first range, after a connection proved stable. */
  reset(): void {
    this.attempt = 0;
  }
}

/** Waits `ms`, or less if `signal` aborts first; never rejects. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function definedOnly(options: ReconnectOptions): ReconnectOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as ReconnectOptions;
}
