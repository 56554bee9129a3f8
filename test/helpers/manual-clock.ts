import type { Clock } from '../../src/realtime/clock.js';

/** A clock that moves only when the test says so; starts at the real time. */
export class ManualClock implements Clock {
  private t = Date.now();

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
