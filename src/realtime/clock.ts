/** Time as the Hub's timers read it, in milliseconds; tests inject one they advance by hand. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
