import type { PresenceReader } from '../domain/presence.js';

/**
 * What the services need to report changes to the product's backend (given only when
 * `--webhook-url` is set; without it no event is built and nothing more is read or written).
 */
export interface WebhookEvents {
  /** The time of an event, ms since the Unix epoch. */
  now(): number;
  /** Who has a push connection on any node: `OfflineSessions` are the members without one. */
  readonly presence: PresenceReader;
  /** A write put events in the outbox: the delivery worker should look now. */
  written(): void;
}
