import type { Message } from '../domain/message.js';
import type { WebhookEvent } from '../domain/webhook-event.js';

/** One event waiting in the outbox, as a delivery worker leases it. */
export interface OutboxEvent {
  /** `webhook-id`: the same on every attempt, distinct between events. */
  readonly id: string;
  /** Events of one conversation are delivered one at a time, oldest first. */
  readonly conversationId: string;
  /** The request body, `{"type", "timestamp", "data"}` JSON, exactly as it is sent. */
  readonly body: string;
  /** When the event happened, ms since the Unix epoch. */
  readonly createdAtMs: number;
  /** Failed attempts so far. */
  readonly attempts: number;
}

/** An event to write in the same transaction as what it reports. */
export type OutboxDraft = WebhookEvent;

/**
 * Builds the event of a stored message. A store calls it inside the appending transaction,
 * once the message has its MsgId, and only when the message is stored (never for a refused
 * send or a deduplicated retry). Absent (webhooks off): nothing is built or written.
 */
export type MessageEventOf = (message: Message) => OutboxDraft;

/**
 * Builds the event of a membership change from the sessions it actually changed (added, or
 * removed). A store calls it inside the change's transaction, and only when some session
 * changed. Absent (webhooks off): nothing is built or written.
 */
export type MembershipEventOf = (changed: readonly string[]) => OutboxDraft;

/**
 * The webhook outbox: rows written with the change they report, leased by one node's worker at
 * a time, removed once delivered. Ordered per conversation by insertion.
 */
export interface WebhookOutbox {
  /**
   * Leases up to `limit` events to `owner` until `leaseUntilMs`: of each conversation only the
   * oldest event, and only when its next attempt is due (at or before `nowMs`) and no other
   * owner holds an unexpired lease on it. A later event of a conversation waits for its
   * predecessor to be deleted.
   */
  leaseWebhookEvents(
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
    limit: number,
  ): Promise<OutboxEvent[]>;

  /** Removes a delivered (or dropped) event. */
  deleteWebhookEvent(id: string): Promise<void>;

  /** Records a failed attempt: the event is due again at `nextAttemptAtMs`, its lease released. */
  retryWebhookEvent(id: string, attempts: number, nextAttemptAtMs: number): Promise<void>;

  /** Events not yet delivered. */
  countWebhookEvents(): Promise<number>;
}
