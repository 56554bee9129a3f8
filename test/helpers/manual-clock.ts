import type { Clock, Timer } from '../../src/domain/clock.js';

interface Pending extends Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when the test says so; starts at `startMs` (the real time by default). */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  constructor(startMs = Date.now()) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, unref() {} };
    this.pending.add(timer);
    return timer;
  }

  clearTimeout(timer: Timer): void {
    this.pending.delete(timer as Pending);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.pending.size;
  }

  /** Moves time forward, firing each timer that falls due, in due order, at its own time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq)))
          next = p;
      }
      if (!next) break;
      this.pending.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
