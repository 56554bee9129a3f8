import type { Clock, Timer } from '../domain/clock.js';
import type { OutboxEvent, WebhookOutbox } from '../store/webhook-outbox.js';
import { webhookHeaders } from './signature.js';

/** What the worker counts; the metrics module implements it. */
export interface WebhookMetrics {
  delivered(latencySec: number): void;
  failed(): void;
  dropped(): void;
  pending(count: number): void;
}

/** How the worker logs: structured fields only, never a body (it holds message contents). */
export interface WebhookLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface DeliveryOptions {
  readonly url: string;
  /** The decoded `whsec_` secret. */
  readonly key: Buffer;
  readonly outbox: WebhookOutbox;
  readonly clock: Clock;
  readonly log: WebhookLog;
  readonly metrics: WebhookMetrics;
  /** This node's name for leases. */
  readonly owner: string;
  /** Requests in flight at most. */
  readonly maxInFlight?: number;
  /** An attempt not answered 2xx within this fails. */
  readonly timeoutMs?: number;
  /** How long a lease holds: longer than an attempt, so a live node never loses one mid-request. */
  readonly leaseMs?: number;
  /** How often the outbox is checked for due retries and other nodes' expired leases. */
  readonly pollMs?: number;
  /** An event not delivered this long after it happened is dropped. */
  readonly maxAgeMs?: number;
  /** The first retry waits this long; each next one twice as long, up to `maxBackoffMs`. */
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

const DAY_MS = 24 * 3600_000;

/** Retries woken on time at most; beyond these, the next poll finds them (at most `pollMs` late). */
const MAX_WAKEUPS = 1000;

/** The wait before attempt `attempts + 1`: doubling from `first` to `max`, with ±20 % jitter. */
export function backoffMs(
  attempts: number,
  first: number,
  max: number,
  random = Math.random,
): number {
  const base = Math.min(max, first * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Delivers the outbox to the product's backend, off the request path: leases due events (one
 * per conversation at a time, so each conversation's events arrive in order), POSTs them signed,
 * deletes each after a 2xx, and reschedules failures with exponential backoff for 24 hours.
 */
export class WebhookDelivery {
  private readonly o: Required<DeliveryOptions>;
  private inFlight = 0;
  private pumping = false;
  private again = false;
  private stopped = true;
  private timer: Timer | null = null;
  private readonly controllers = new Set<AbortController>();
  private readonly wakeups = new Set<Timer>();
  private lastCountAt = -Infinity;

  constructor(options: DeliveryOptions) {
    this.o = {
      maxInFlight: 16,
      timeoutMs: 10_000,
      leaseMs: 20_000,
      pollMs: 1_000,
      maxAgeMs: DAY_MS,
      firstBackoffMs: 1_000,
      maxBackoffMs: 300_000,
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
    this.notify();
  }

  /** Abandons deliveries in flight (their leases expire; they are sent again later). */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.wakeups) this.o.clock.clearTimeout(t);
    this.wakeups.clear();
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
  }

  /** Something was written to the outbox: look now rather than at the next poll. */
  notify(): void {
    if (this.stopped) return;
    void this.pump();
  }

  /**
   * Looks again in `ms`: a retry is sent when it is due, not at the next poll. A few ms late,
   * since a timer may fire a millisecond before the wall clock reads its due time.
   */
  private wakeIn(ms: number): void {
    if (this.stopped || this.wakeups.size >= MAX_WAKEUPS) return;
    const timer = this.o.clock.setTimeout(() => {
      this.wakeups.delete(timer);
      this.notify();
    }, ms + 5);
    timer.unref();
    this.wakeups.add(timer);
  }

  private schedule(): void {
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.notify();
      this.schedule();
    }, this.o.pollMs);
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.leaseAndSend();
      } while (this.again && !this.stopped);
    } finally {
      this.pumping = false;
    }
  }

  private async leaseAndSend(): Promise<void> {
    const now = this.o.clock.now();
    try {
      if (now - this.lastCountAt >= 5_000) {
        this.lastCountAt = now;
        this.o.metrics.pending(await this.o.outbox.countWebhookEvents());
      }
      const room = this.o.maxInFlight - this.inFlight;
      if (room <= 0 || this.stopped) return;
      const events = await this.o.outbox.leaseWebhookEvents(
        this.o.owner,
        now,
        now + this.o.leaseMs,
        room,
      );
      for (const e of events) {
        if (this.stopped) return;
        this.inFlight++;
        void this.deliver(e).finally(() => {
          this.inFlight--;
          this.notify();
        });
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'webhook outbox unavailable');
    }
  }

  private async deliver(e: OutboxEvent): Promise<void> {
    const now = this.o.clock.now();
    if (now - e.createdAtMs >= this.o.maxAgeMs) return this.drop(e);
    let ok: boolean;
    let status: number | undefined;
    const controller = new AbortController();
    this.controllers.add(controller);
    const timeout = this.o.clock.setTimeout(() => controller.abort(), this.o.timeoutMs);
    try {
      const headers = webhookHeaders(this.o.key, e.id, Math.floor(now / 1000), e.body);
      const res = await fetch(this.o.url, {
        method: 'POST',
        headers,
        body: e.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      status = res.status;
      ok = status >= 200 && status < 300;
      await res.body?.cancel().catch(() => undefined);
    } catch {
      ok = false;
    } finally {
      this.o.clock.clearTimeout(timeout);
      this.controllers.delete(controller);
    }
    if (this.stopped) return;
    try {
      if (ok) {
        await this.o.outbox.deleteWebhookEvent(e.id);
        this.o.metrics.delivered((this.o.clock.now() - e.createdAtMs) / 1000);
        return;
      }
      this.o.metrics.failed();
      const attempts = e.attempts + 1;
      const next =
        this.o.clock.now() + backoffMs(attempts, this.o.firstBackoffMs, this.o.maxBackoffMs);
      if (next - e.createdAtMs >= this.o.maxAgeMs) return await this.drop(e);
      await this.o.outbox.retryWebhookEvent(e.id, attempts, next);
      this.wakeIn(next - this.o.clock.now());
    } catch (err) {
      // The lease expires and the event is tried again: at least once, never lost.
      this.o.log.warn(
        { err: (err as Error).message, webhookId: e.id },
        'webhook outbox update failed',
      );
    }
    if (!ok)
      this.o.log.warn(
        { webhookId: e.id, status, attempts: e.attempts + 1 },
        'webhook attempt failed',
      );
  }

  private async drop(e: OutboxEvent): Promise<void> {
    try {
      await this.o.outbox.deleteWebhookEvent(e.id);
    } catch (err) {
      this.o.log.warn(
        { err: (err as Error).message, webhookId: e.id },
        'webhook outbox update failed',
      );
      return;
    }
    this.o.metrics.dropped();
    this.o.log.warn(
      { webhookId: e.id, conversationId: e.conversationId, attempts: e.attempts },
      'webhook event dropped after 24 hours of failed attempts',
    );
  }
}
