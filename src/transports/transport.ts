import type { CloseReason } from '../realtime/close-reasons.js';
import type { Frame } from '../realtime/frame.js';

export type Protocol = 'ws' | 'sse' | 'poll';

/**
 * The core-owned contract a transport adapter implements for one push connection. The Hub
 * decides what to send and when; a wire only puts frames on the network.
 */
export interface Wire {
  readonly protocol: Protocol;

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

/**
 * When a new connection's first heartbeat falls due: at a random point in the second half of
 * `intervalMs`, then every `intervalMs`. Connections opened together (a reconnect storm after a
 * restart, a load test) would otherwise ping together forever: measured, 1,000 WebSocket
 * pings at once held the event loop 25–70 ms, and every message in flight waited for it.
 */
export function firstBeatAt(now: number, intervalMs: number, random = Math.random): number {
  return now + Math.ceil(intervalMs * (0.5 + random() / 2));
}
