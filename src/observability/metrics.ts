import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubMetrics } from '../realtime/hub-metrics.js';
import type { WebhookMetrics } from '../webhooks/delivery-worker.js';

/** The push protocol label, as the Hub reports it. */
type Protocol = Parameters<HubMetrics['connectionOpened']>[0];

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Up to a minute: a long-poll waits at most 60 s. */
const httpBuckets = [...latencyBuckets, 10, 30, 60];

export interface BuildInfo {
  readonly version: string;
  readonly node: string;
}

/** Every metric of one app, in its own registry (several apps may share a process in tests). */
export class Metrics implements HubMetrics {
  readonly registry = new Registry();
  private readonly connections = new Gauge({
    name: 'quickim_connections',
    help: 'Open push connections by protocol.',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  private readonly accepted = new Counter({
    name: 'quickim_messages_accepted_total',
    help: 'Messages stored and acknowledged by /send_msg.',
    registers: [this.registry],
  });
  private readonly deliveredTotal = new Counter({
    name: 'quickim_messages_delivered_total',
    help: 'Message frames handed to push connections.',
    registers: [this.registry],
  });
  private readonly replayedTotal = new Counter({
    name: 'quickim_messages_replayed_total',
    help: 'Messages replayed from the store on resume.',
    registers: [this.registry],
  });
  private readonly droppedTotal = new Counter({
    name: 'quickim_slow_consumers_total',
    help: 'Connections whose queue overflowed (closed, or a poll place refilled from the store).',
    registers: [this.registry],
  });
  private readonly replacedTotal = new Counter({
    name: 'quickim_replacements_total',
    help: 'Connections replaced by a newer one for the same session and platform.',
    registers: [this.registry],
  });
  private readonly busReconnects = new Counter({
    name: 'quickim_bus_reconnects_total',
    help: 'Times the bus connection came back after a loss.',
    registers: [this.registry],
  });
  readonly storeSeconds = new Histogram({
    name: 'quickim_store_seconds',
    help: 'Store call latency by method.',
    labelNames: ['method'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly busSeconds = new Histogram({
    name: 'quickim_bus_call_seconds',
    help: 'Bus call latency by method (publish, ping, subscribe, close).',
    labelNames: ['method'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  private readonly busUp = new Gauge({
    name: 'quickim_bus_connected',
    help: 'Whether the bus is connected (1) or lost (0); always 1 for the in-process bus.',
    registers: [this.registry],
  });
  private readonly httpSeconds = new Histogram({
    name: 'quickim_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status (push streams: their life).',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: httpBuckets,
    registers: [this.registry],
  });
  private readonly httpChildren = new Map<string, { observe(seconds: number): void }>();

  /** The webhook worker's counters, gauge and histogram. */
  readonly webhooks: WebhookMetrics = webhookMetrics(this.registry);

  /** `build` labels `quickim_build_info`: this package's version and Node's. */
  constructor(build: BuildInfo = { version: 'unknown', node: process.version }) {
    new Gauge({
      name: 'quickim_build_info',
      help: 'Always 1; the labels say which quick-im and which Node.js run.',
      labelNames: ['version', 'node'] as const,
      registers: [this.registry],
    }).set({ version: build.version, node: build.node }, 1);
    this.busUp.set(1);
    collectDefaultMetrics({ register: this.registry });
    for (const p of ['ws', 'sse', 'poll']) this.connections.set({ protocol: p }, 0);
  }

  connectionOpened(protocol: Protocol): void {
    this.connections.inc({ protocol });
  }
  connectionClosed(protocol: Protocol): void {
    this.connections.dec({ protocol });
  }
  delivered(count: number): void {
    this.deliveredTotal.inc(count);
  }
  replayed(count: number): void {
    if (count > 0) this.replayedTotal.inc(count);
  }
  dropped(): void {
    this.droppedTotal.inc();
  }
  replaced(): void {
    this.replacedTotal.inc();
  }
  messageAccepted(): void {
    this.accepted.inc();
  }
  busReconnected(): void {
    this.busReconnects.inc();
  }
  /** The bus was lost (false) or is connected again (true). */
  busConnected(up: boolean): void {
    this.busUp.set(up ? 1 : 0);
  }
  /** One answered HTTP request (`route` is the pattern, never the URL). */
  httpAnswered(route: string, method: string, status: number, seconds: number): void {
    // One labelled child per series, found by one string key: this runs on every request.
    const key = `${method} ${status} ${route}`;
    let child = this.httpChildren.get(key);
    if (child === undefined) {
      child = this.httpSeconds.labels(route, method, String(status));
      this.httpChildren.set(key, child);
    }
    child.observe(seconds);
  }
}

function observeSince(child: { observe(seconds: number): void }, started: number): void {
  child.observe((performance.now() - started) / 1000);
}

/**
 * Wraps every method of `target` so each call's duration lands in `histogram` under its name.
 * Each wrapper and its labelled child are built once, on first use: these calls sit on the
 * send and fan-out paths, where a closure and a label lookup per call showed in profiles.
 */
export function measured<T extends object>(target: T, histogram: Histogram<'method'>): T {
  const wrappers = new Map<string, { fn: unknown; wrapper: (...args: unknown[]) => unknown }>();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const cached = wrappers.get(prop);
      if (cached !== undefined && cached.fn === value) return cached.wrapper;
      const fn = value as (...args: unknown[]) => unknown;
      const child = histogram.labels(prop);
      const wrapper = (...args: unknown[]): unknown => {
        const started = performance.now();
        const result = fn.apply(obj, args);
        if (result instanceof Promise) {
          // Observed on a side branch: the caller awaits the call's own promise, one
          // microtask hop sooner than through `finally`, and still sees its rejection.
          const settled = (): void => observeSince(child, started);
          result.then(settled, settled);
          return result;
        }
        observeSince(child, started);
        return result;
      };
      wrappers.set(prop, { fn: value, wrapper });
      return wrapper;
    },
  });
}

function webhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  const delivered = new Counter({
    name: 'quickim_webhook_delivered_total',
    help: 'Webhook events delivered (answered 2xx).',
    registers,
  });
  const failed = new Counter({
    name: 'quickim_webhook_failed_total',
    help: 'Webhook attempts that failed (non-2xx, timeout, refused); each is retried.',
    registers,
  });
  const dropped = new Counter({
    name: 'quickim_webhook_dropped_total',
    help: 'Webhook events dropped after 24 hours of failed attempts.',
    registers,
  });
  const pending = new Gauge({
    name: 'quickim_webhook_pending',
    help: 'Webhook events in the outbox, not yet delivered (all nodes), as last counted.',
    registers,
  });
  const latency = new Histogram({
    name: 'quickim_webhook_delivery_seconds',
    help: 'Time from an event to its successful delivery, retries included.',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600, 86_400],
    registers,
  });
  return {
    delivered: (latencySec) => {
      delivered.inc();
      latency.observe(latencySec);
    },
    failed: () => failed.inc(),
    dropped: () => dropped.inc(),
    pending: (count) => pending.set(count),
  };
}
