import type { Protocol } from './wire.js';

/** What the Hub counts; the metrics module implements it with prom-client. */
export interface HubMetrics {
  connectionOpened(protocol: Protocol): void;
  connectionClosed(protocol: Protocol): void;
  delivered(count: number): void;
  replayed(count: number): void;
  /** A slow consumer's queue overflowed. */
  dropped(): void;
  replaced(): void;
}

export const noopHubMetrics: HubMetrics = {
  connectionOpened: () => {},
  connectionClosed: () => {},
  delivered: () => {},
  replayed: () => {},
  dropped: () => {},
  replaced: () => {},
};
