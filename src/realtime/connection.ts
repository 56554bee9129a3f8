import type { Frame } from './frame.js';
import type { Wire } from './wire.js';

/** The slow-consumer bounds on what queues behind a connection's resume replay. */
export interface QueueLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/**
 * What became of a live frame offered to a connection: written to the wire, queued for its
 * capacity, skipped (closed, dropped under the refill policy, or already sent by the resume
 * replay), or refused because the queue is full — the Hub then applies the wire's policy.
 */
export type Offer = 'written' | 'queued' | 'skipped' | 'full';

/**
 * One push connection as the Hub sees it: its wire and the frames waiting for the wire's
 * capacity. A resume replay read from the store is merged in front of the live frames that
 * arrived meanwhile, each message once. Transports hold it only to call the Hub back.
 */
export class Connection {
  /** Frames waiting for the wire's capacity, oldest first. */
  private queue: Frame[] = [];
  private queuedBytes = 0;
  /**
   * How many frames at the head of `queue` a resume read from the store, and their bytes. The
   * replay is bounded by the Hub's replay limit; the slow-consumer bounds apply behind it.
   */
  private replayedFrames = 0;
  private replayedBytes = 0;
  /**
   * Per conversation, the newest id the resume replay sent: a live message at or below it
   * (stored before the replay read, announced after) is not sent twice. Emptied as live
   * messages pass it.
   */
  private replayedUpTo: Map<string, string> | null = null;
  /** Live frames collect but are not written until the resume replay is merged in front. */
  private starting = true;
  private closed = false;
  /** The queue overflowed under the refill policy: live frames are ignored from then on. */
  private dropped = false;

  constructor(
    readonly session: string,
    readonly platform: number,
    /** Orders connections of one (session, platform) across nodes: the greater one wins. */
    readonly generation: string,
    readonly wire: Wire,
    /** When the token expires, ms since the Unix epoch on the Hub's clock. */
    readonly expiresAtMs: number,
    /** When the token was issued, Unix seconds: a revocation at or after it closes the connection. */
    readonly issuedAtSec: number,
    /** Opened with `events=1`: takes event frames besides messages. */
    readonly wantsEvents: boolean,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** True until the resume replay (if any) is merged and live frames may go out. */
  get isStarting(): boolean {
    return this.starting;
  }

  /** The queue overflowed under the refill policy: the next request must refill from the store. */
  get hasOverflowed(): boolean {
    return this.dropped;
  }

  /** Marks the connection closed and frees its queue; false if it already was. */
  markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.clearQueue();
    return true;
  }

  /**
   * Puts the resume replay (ascending, read from the store) in front of the live frames queued
   * while it was read, leaving out live frames the replay already holds.
   */
  mergeReplay(replayed: readonly Frame[]): void {
    const ids = new Set<string>();
    const upTo = new Map<string, string>();
    const frames: Frame[] = [];
    let replayedBytes = 0;
    for (const f of replayed) {
      ids.add(f.msgId);
      upTo.set(f.conversationId, f.msgId);
      frames.push(f);
      replayedBytes += f.size;
    }
    let liveBytes = 0;
    for (const f of this.queue) {
      if (ids.has(f.msgId)) continue;
      frames.push(f);
      liveBytes += f.size;
    }
    this.queue = frames;
    this.queuedBytes = replayedBytes + liveBytes;
    this.replayedFrames = replayed.length;
    this.replayedBytes = replayedBytes;
    this.replayedUpTo = upTo.size > 0 ? upTo : null;
  }

  /** The replay is merged: live frames may go out. Returns how many frames were written. */
  start(): number {
    this.starting = false;
    return this.flush();
  }

  /** Writes what the wire takes now, oldest first; returns how many frames were written. */
  flush(): number {
    if (this.starting || this.closed) return 0;
    let written = 0;
    let cap: number;
    while (this.queue.length > 0 && (cap = this.wire.capacity()) > 0) {
      const batch = cap >= this.queue.length ? this.queue : this.queue.slice(0, cap);
      this.queue = batch === this.queue ? [] : this.queue.slice(cap);
      for (const f of batch) {
        this.queuedBytes -= f.size;
        if (this.replayedFrames > 0) {
          this.replayedFrames--;
          this.replayedBytes -= f.size;
        }
      }
      written += batch.length;
      this.wire.write(batch);
      if (this.closed) break;
    }
    return written;
  }

  /** A live frame: written at once when nothing waits ahead of it and the wire has room. */
  offer(frame: Frame, limits: QueueLimits): Offer {
    if (this.closed || this.dropped) return 'skipped';
    const replayedUpTo = this.replayedUpTo;
    if (replayedUpTo !== null && frame.event === null) {
      const upTo = replayedUpTo.get(frame.conversationId);
      if (upTo !== undefined) {
        if (frame.msgId <= upTo) return 'skipped';
        replayedUpTo.delete(frame.conversationId);
        if (replayedUpTo.size === 0) this.replayedUpTo = null;
      }
    }
    if (!this.starting && this.queue.length === 0 && this.wire.capacity() > 0) {
      this.wire.write([frame]);
      return 'written';
    }
    // The replay ahead of the live frames does not count: a client catching up is not slow.
    if (
      this.queue.length - this.replayedFrames >= limits.maxMessages ||
      this.queuedBytes - this.replayedBytes + frame.size > limits.maxBytes
    ) {
      return 'full';
    }
    this.queue.push(frame);
    this.queuedBytes += frame.size;
    return 'queued';
  }

  /**
   * The refill policy after an overflow: forgets the queue and ignores live frames from now on;
   * the wire's next request replays from the store after the wire's own position.
   */
  dropQueue(): void {
    this.clearQueue();
    this.dropped = true;
  }

  private clearQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.replayedFrames = 0;
    this.replayedBytes = 0;
  }
}
