/** A timer scheduled on a `Clock`; cancel it with `Clock.clearTimeout`. */
export interface Timer {
  /** Lets the process exit while the timer is pending (a no-op on a manual clock). */
  unref(): void;
}

/**
 * Time and timers, in milliseconds. Everything that reads the time or waits for it (the Hub's
 * ticks, a Room's gap wait, token expiry) takes one, so tests inject a clock they advance by
 * hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once, `ms` from now on this clock. */
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
