import type { Frame } from './frame.js';
import type { ReplayCursor } from './replay-cursor.js';
import type { Wire } from './wire.js';

/** The slow-consumer bounds on the live frames queued for a connection, in frames and `Frame.size` bytes. */
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
 * One push connection as the Hub sees it: its wire, the resume replay still to send and the
 * live frames waiting behind it for the wire's capacity. The replay is read from the store as
 * the wire drains (`ReplayCursor`); each message goes out once. Transports hold it only to call
 * the Hub back.
 */
export class Connection {
  /** Live frames waiting for the wire's capacity (and for the replay ahead of them), oldest first. */
  private queue: Frame[] = [];
  private queuedBytes = 0;
  /** The resume replay not yet written, ahead of every queued live frame; null when none is left. */
  private replay: ReplayCursor | null = null;
  /**
   * Per conversation, the newest id the resume replay holds: a live message at or below it
   * (stored before the replay was planned, announced after) is not sent twice. Emptied as live
   * messages pass it.
   */
  private replayedUpTo: Map<string, string> | null = null;
  /** Live frames collect but are not written until the resume replay is planned. */
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

  /** True until the resume replay (if any) is planned and frames may go out. */
  get isStarting(): boolean {
    return this.starting;
  }

  /** The queue overflowed under the refill policy: the next request must refill from the store. */
  get hasOverflowed(): boolean {
    return this.dropped;
  }

  /** The resume replay still being sent, if any: the Hub reads its pages. */
  get pendingReplay(): ReplayCursor | null {
    return this.replay;
  }

  /** Marks the connection closed and frees its queue; false if it already was. */
  markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.clearQueue();
    return true;
  }

  /**
   * Puts the resume replay in front of the live frames, leaving out those queued while it was
   * planned that it holds.
   */
  beginReplay(replay: ReplayCursor): void {
    if (replay.length === 0) return;
    const upTo = replay.newestByConversation();
    this.replay = replay;
    this.replayedUpTo = upTo;
    this.queue = this.queue.filter((f) => !isReplayed(upTo, f));
    this.queuedBytes = 0;
    for (const f of this.queue) this.queuedBytes += f.size;
  }

  /** The replay is planned: frames may go out. Returns how many frames were written. */
  start(): number {
    this.starting = false;
    return this.flush();
  }

  /**
   * Writes what the wire takes now, oldest first: the replay's frames, then live ones. Stops
   * when the replay waits for a page (`pendingReplay.wantsRead`). Returns how many it wrote.
   */
  flush(): number {
    if (this.starting || this.closed) return 0;
    let written = 0;
    let cap: number;
    while ((cap = this.wire.capacity()) > 0) {
      let batch: readonly Frame[];
      if (this.replay !== null) {
        const replayed = this.replay.take(cap);
        if (replayed === null) break;
        if (replayed.length === 0) {
          this.replay = null;
          continue;
        }
        batch = replayed;
      } else {
        if (this.queue.length === 0) break;
        batch = cap >= this.queue.length ? this.queue : this.queue.slice(0, cap);
        this.queue = batch === this.queue ? [] : this.queue.slice(cap);
        for (const f of batch) this.queuedBytes -= f.size;
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
    const idle = !this.starting && this.replay === null && this.queue.length === 0;
    if (idle && this.wire.capacity() > 0) {
      this.wire.write([frame]);
      return 'written';
    }
    // The replay ahead is not queued: it is read from the store as the wire drains.
    if (
      this.queue.length >= limits.maxMessages ||
      this.queuedBytes + frame.size > limits.maxBytes
    ) {
      return 'full';
    }
    this.queue.push(frame);
    this.queuedBytes += frame.size;
    return 'queued';
  }

  /**
   * The refill policy after an overflow: forgets the queue and the replay and ignores live
   * frames from now on; the wire's next request replays from the store after the wire's own
   * position.
   */
  dropQueue(): void {
    this.clearQueue();
    this.dropped = true;
  }

  private clearQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.replay = null;
  }
}

function isReplayed(upTo: ReadonlyMap<string, string>, f: Frame): boolean {
  const last = upTo.get(f.conversationId);
  return last !== undefined && f.msgId <= last;
}
