import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { UnavailableError } from '../domain/errors.js';
import type { Bus, BusEvent, BusHandler } from './bus.js';
import {
  GLOBAL_SUBJECT,
  conversationSubject,
  decodeEvent,
  encodeEvent,
  subjectOf,
} from './nats-subjects.js';

/** How long a publish or a follow waits for the server's answer before `UnavailableError`. */
const CONFIRM_TIMEOUT_MS = 5000;

const decoder = new TextDecoder();
const noop = (): void => {};

/**
 * Connection options for a `--bus` URL: `nats://` or `tls://` (TLS, verified against the
 * system's CAs and `NODE_EXTRA_CA_CERTS`), with optional credentials in the URL —
 * `user:password@host` or a token alone, `token@host` (percent-encoded where needed).
 * The credentials go to the client as options, never as part of a server name it may log.
 */
export function natsConnectOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  const tls = u.protocol === 'tls:';
  if (!tls && u.protocol !== 'nats:') throw new Error('must be a nats:// or tls:// URL');
  const server = `nats://${u.host}`;
  const auth: ConnectionOptions = {};
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  if (user !== '' && u.password !== '') Object.assign(auth, { user, pass });
  else if (user !== '') Object.assign(auth, { token: user });
  return { servers: server, ...auth, ...(tls ? { tls: {} } : {}) };
}

export interface NatsBusOptions {
  readonly url: string;
  /** Called with false when the connection to NATS is lost and true when it is back. */
  readonly onAvailability?: (up: boolean) => void;
  readonly onError?: (err: unknown) => void;
}

/**
 * The bus of several nodes, routed by interest: global events on one subject every node
 * subscribes to, each conversation's events on its own subject (`nats-subjects.ts`), which a
 * node subscribes to while it follows the conversation. The connection is `noEcho`: a node's
 * own events reach its handlers from `publish`, never back from the server. Reconnects
 * forever; nats.js re-sends every subscription on reconnect.
 */
export class NatsBus implements Bus {
  private readonly handlers = new Set<BusHandler>();
  private up = true;
  /** Followed conversations: their subscription and how many `follow`s hold it. */
  private readonly followed = new Map<string, { sub: Subscription; count: number }>();
  /** This node's events sent since the last round trip was sent, in publish order. */
  private unconfirmed: BusEvent[] = [];
  /** The round trip sent to the server and not yet answered. */
  private flushing: Promise<void> | null = null;
  /** The round trip that waits for `flushing`: it covers everything sent since that was sent. */
  private nextFlush: Promise<void> | null = null;
  private readonly onMsg = (err: Error | null, msg: Msg): void => {
    if (err) return void this.options.onError?.(err);
    let event: BusEvent;
    try {
      event = decodeEvent(decoder.decode(msg.data));
    } catch (e) {
      return void this.options.onError?.(e);
    }
    this.hear(event);
  };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsBusOptions,
  ) {
    nc.subscribe(GLOBAL_SUBJECT, { callback: this.onMsg });
    void this.watch();
  }

  private hear(event: BusEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
  }

  /** Connects; rejects when NATS cannot be reached at start. */
  static async open(options: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      ...natsConnectOptions(options.url),
      name: 'quick-im',
      noEcho: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      maxPingOut: 2,
      timeout: 5_000,
    });
    const bus = new NatsBus(nc, options);
    await nc.flush();
    return bus;
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' && this.up) {
        this.up = false;
        this.options.onAvailability?.(false);
      } else if (s.type === 'reconnect' && !this.up) {
        this.up = true;
        this.options.onAvailability?.(true);
      }
    }
  }

  /**
   * Sends the event, and after the next round trip to the server hands it to this node's
   * handlers and resolves: NATS has then taken it, ahead of anything this connection sends
   * later, and this node has heard every event the server took before it (the server writes
   * them to this connection ahead of the answer). One round trip in flight covers every
   * publish made before it was sent. (Handing it over at once instead would let a message
   * sent here overtake a membership change acknowledged on another node a moment before.)
   */
  publish(event: BusEvent): Promise<void> {
    if (!this.up || this.nc.isClosed()) {
      return Promise.reject(new UnavailableError('bus unavailable'));
    }
    try {
      this.nc.publish(subjectOf(event), encodeEvent(event));
    } catch (err) {
      return Promise.reject(new UnavailableError((err as Error).message));
    }
    this.unconfirmed.push(event);
    return this.roundTrip();
  }

  subscribe(handler: BusHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Subscribes on the first follow; the round trip after it puts the interest in effect. */
  follow(conversationId: string): Promise<void> {
    if (this.nc.isClosed()) return Promise.reject(new UnavailableError('bus closed'));
    const held = this.followed.get(conversationId);
    if (held) held.count++;
    else {
      const sub = this.nc.subscribe(conversationSubject(conversationId), { callback: this.onMsg });
      this.followed.set(conversationId, { sub, count: 1 });
    }
    // A follow still waiting for its round trip is not in effect yet: this one waits too.
    return this.roundTrip();
  }

  unfollow(conversationId: string): void {
    const held = this.followed.get(conversationId);
    if (!held || --held.count > 0) return;
    this.followed.delete(conversationId);
    if (!this.nc.isClosed()) held.sub.unsubscribe();
  }

  /**
   * Resolves once the server has answered a round trip sent after this call: it has then
   * processed everything this connection sent before. Coalesced: while one is in flight, the
   * calls meanwhile share the single one sent when it returns.
   */
  private roundTrip(): Promise<void> {
    if (this.nextFlush) return this.nextFlush;
    if (!this.flushing) return this.sendFlush();
    const next = this.flushing.then(noop, noop).then(() => {
      if (this.nextFlush === next) this.nextFlush = null;
      return this.sendFlush();
    });
    this.nextFlush = next;
    return next;
  }

  private sendFlush(): Promise<void> {
    const own = this.unconfirmed;
    this.unconfirmed = [];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError('bus did not confirm in time')),
        CONFIRM_TIMEOUT_MS,
      );
    });
    const answered = this.nc.flush().catch((err: unknown) => {
      throw new UnavailableError((err as Error).message);
    });
    const flush = Promise.race([answered, timeout]).finally(() => {
      clearTimeout(timer);
      if (this.flushing === flush) this.flushing = null;
      // Unconfirmed too: they are stored, and this node's members are told what it knows.
      for (const event of own) this.hear(event);
    });
    this.flushing = flush;
    return flush;
  }

  /** Round trip to the server: every event published before it has been taken by NATS. */
  async ping(): Promise<void> {
    if (!this.up || this.nc.isClosed()) throw new UnavailableError('bus unavailable');
    try {
      await this.nc.flush();
    } catch (err) {
      throw new UnavailableError((err as Error).message);
    }
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.followed.clear();
    if (this.nc.isClosed()) return;
    // Draining needs the server: while it is unreachable, nats.js resolves drain() without
    // closing and keeps reconnecting forever, which would keep the process alive.
    if (this.up) await this.nc.drain().catch(() => {});
    if (!this.nc.isClosed()) await this.nc.close();
  }
}
