import type { CloseReason } from './close-reasons.js';
import type { Frame } from './frame.js';

/** The push protocols; used only to label metrics, never to choose behaviour. */
export type Protocol = 'ws' | 'sse' | 'poll';

/**
 * What the Hub does when a connection's queue is full. `close`: end it with `CloseReason.Slow`
 * (the client resumes with `last_msg_id`). `refill`: drop the queue and stop queueing, without
 * telling the client; the wire keeps its position and its next request refills from the store.
 */
export type OverflowPolicy = 'close' | 'refill';

/**
 * The core-owned contract a transport adapter implements for one push connection. The Hub
 * decides what to send and when; a wire only puts frames on the network.
 */
export interface Wire {
  readonly protocol: Protocol;
  readonly overflow: OverflowPolicy;

  /** How many frames the wire takes right now; 0 means wait until it calls `Hub.drained`. */
  capacity(): number;

  /** Writes frames in order; never more than the last `capacity()`. */
  write(frames: readonly Frame[]): void;

  /**
   * Called from the Hub's one shared timer with the injected clock's time (ms). Sends
   * heartbeats, answers expired polls; returns false when the peer is gone.
   */
  tick(now: number): boolean;

  /** Ends the wire with the protocol's form of `reason`. Idempotent. */
  close(reason: CloseReason): void;
}

/** Who a push connection is for, where it resumes and what it takes, checked before any transport sees it. */
export interface PushGrant {
  readonly session: string;
  readonly platform: number;
  /** Replay every message after this id before going live; null starts live. */
  readonly lastMsgId: string | null;
  /** When the token expires, ms since the Unix epoch on the Hub's clock. */
  readonly expiresAtMs: number;
  /** When the token was issued (its `iat`), Unix seconds. */
  readonly issuedAtSec: number;
  /** `events=1`: event frames (read, joined, left) besides messages; never on long-poll. */
  readonly events: boolean;
}
