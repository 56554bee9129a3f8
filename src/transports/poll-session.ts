import { ErrorCode, errorBody, errorSpecs } from '../domain/errors.js';
import { closeSpecs } from '../realtime/close-reasons.js';
import type { CloseReason } from '../realtime/close-reasons.js';
import type { Frame } from '../realtime/frame.js';
import type { Wire } from '../realtime/wire.js';

/** What one poll request is answered with. `body` is JSON text, absent for 204. */
export interface PollAnswer {
  readonly status: number;
  readonly body?: string;
}

interface Waiter {
  readonly answer: (a: PollAnswer) => void;
  /** Frames per answer: null answers one `MsgData` object, n an array of up to n. */
  readonly batch: number | null;
  readonly deadline: number;
}

export function failure(code: ErrorCode): PollAnswer {
  const spec = errorSpecs[code];
  return { status: spec.status, body: JSON.stringify(errorBody(code)) };
}

/**
 * A long-poll place: lives across poll requests (its queue is the Hub's) and is forgotten
 * `keepMs` after the last poll ended. At most one request waits on it at a time. It knows its
 * position — the newest MsgId it answered — so after an overflow, on this node or another,
 * the next poll continues from there out of the store.
 */
export class PollSession implements Wire {
  readonly protocol = 'poll' as const;
  readonly overflow = 'refill' as const;
  private waiter: Waiter | null = null;
  private lastSeenAt: number;
  private lastAnswered: string;

  constructor(
    private readonly keepMs: number,
    now: number,
    /** Where the place starts: the MsgId it resumes after, or one standing for "now". */
    position: string,
  ) {
    this.lastSeenAt = now;
    this.lastAnswered = position;
  }

  /** The newest MsgId answered, or the starting position when none was. */
  get position(): string {
    return this.lastAnswered;
  }

  /** A poll request waits here; an older waiting request is answered 409 (replaced). */
  wait(answer: (a: PollAnswer) => void, batch: number | null, deadline: number): void {
    this.waiter?.answer(failure(ErrorCode.Replaced));
    this.waiter = { answer, batch, deadline };
  }

  /** Stops waiting for `answer`'s request (its client went away); false if it was already answered. */
  cancel(answer: (a: PollAnswer) => void, now: number): boolean {
    if (this.waiter?.answer !== answer) return false;
    this.waiter = null;
    this.lastSeenAt = now;
    return true;
  }

  capacity(): number {
    return this.waiter === null ? 0 : (this.waiter.batch ?? 1);
  }

  write(frames: readonly Frame[]): void {
    const w = this.waiter;
    if (w === null || frames.length === 0) return;
    this.waiter = null;
    this.lastAnswered = (frames[frames.length - 1] as Frame).msgId;
    const body =
      w.batch === null ? (frames[0] as Frame).json : `[${frames.map((f) => f.json).join(',')}]`;
    w.answer({ status: 200, body });
  }

  tick(now: number): boolean {
    const w = this.waiter;
    if (w !== null) {
      if (now >= w.deadline) {
        this.waiter = null;
        this.lastSeenAt = now;
        w.answer({ status: 204 });
      }
      return true;
    }
    return now - this.lastSeenAt < this.keepMs;
  }

  /** Marks the end of a poll that was answered, so the place is kept `keepMs` from now. */
  touch(now: number): void {
    this.lastSeenAt = now;
  }

  close(reason: CloseReason): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    const spec = closeSpecs[reason];
    w.answer({ status: spec.pollStatus, body: JSON.stringify(errorBody(spec.pollCode)) });
  }
}
