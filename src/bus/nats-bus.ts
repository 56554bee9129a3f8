import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection, Subscription } from '@nats-io/transport-node';
import { UnavailableError } from '../domain/errors.js';
import type { Bus, BusEvent, BusHandler } from './bus.js';

// One subject for every event: every node hears everything, in the order the server took it.
const SUBJECT = 'quickim.events';
const MESSAGE_TAG = 'M';
const ECHO_TIMEOUT_MS = 5000;
const JSON_TAG = 'J';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Messages skip a second JSON encoding: the frame is already `MsgData` JSON. */
export function encodeEvent(event: BusEvent, prefix = ''): Uint8Array {
  if (event.type === 'message') {
    const { conversationId, msgId, prevMsgId, frame } = event;
    return encoder.encode(
      `${prefix}${MESSAGE_TAG}${conversationId}\n${msgId}\n${prevMsgId ?? ''}\n${frame}`,
    );
  }
  return encoder.encode(prefix + JSON_TAG + JSON.stringify(event));
}

export function decodeEvent(text: string): BusEvent {
  if (text.startsWith(MESSAGE_TAG)) {
    const a = text.indexOf('\n');
    const b = text.indexOf('\n', a + 1);
    const c = text.indexOf('\n', b + 1);
    return {
      type: 'message',
      conversationId: text.slice(1, a),
      msgId: text.slice(a + 1, b),
      prevMsgId: b + 1 === c ? null : text.slice(b + 1, c),
      frame: text.slice(c + 1),
    };
  }
  return JSON.parse(text.slice(1)) as BusEvent;
}

/** Payload on the wire: `<busId> <seq>\n` then the event, so a publisher knows its own echo. */
function frameEvent(busId: string, seq: number, event: BusEvent): Uint8Array {
  return encodeEvent(event, `${busId} ${seq}\n`);
}

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

/** The bus of several nodes: a NATS subject every node subscribes to. Reconnects forever. */
export class NatsBus implements Bus {
  private readonly handlers = new Set<BusHandler>();
  private up = true;
  private readonly id = randomUUID();
  private seq = 0;
  /** Publishes waiting for their own echo, by sequence number. */
  private readonly echoes = new Map<number, { resolve: () => void; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsBusOptions,
  ) {
    const sub: Subscription = nc.subscribe(SUBJECT, {
      callback: (err, msg) => {
        if (err) return options.onError?.(err);
        let event: BusEvent;
        const text = decoder.decode(msg.data);
        const nl = text.indexOf('\n');
        try {
          event = decodeEvent(text.slice(nl + 1));
        } catch (e) {
          return options.onError?.(e);
        }
        for (const h of this.handlers) h(event);
        const [origin, seq] = text.slice(0, nl).split(' ');
        if (origin === this.id) this.echoed(Number(seq));
      },
    });
    void sub;
    void this.watch();
  }

  /** Connects; rejects when NATS cannot be reached at start. */
  static async open(options: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      ...natsConnectOptions(options.url),
      name: 'quick-im',
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
   * Resolves when this node hears its own event back: NATS has then ordered it before
   * anything published later, for every subscriber.
   */
  publish(event: BusEvent): Promise<void> {
    if (!this.up || this.nc.isClosed()) {
      return Promise.reject(new UnavailableError('bus unavailable'));
    }
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.echoes.delete(seq);
        reject(new UnavailableError('bus did not confirm the event in time'));
      }, ECHO_TIMEOUT_MS);
      this.echoes.set(seq, { resolve, timer });
      try {
        this.nc.publish(SUBJECT, frameEvent(this.id, seq, event));
      } catch (err) {
        clearTimeout(timer);
        this.echoes.delete(seq);
        reject(new UnavailableError((err as Error).message));
      }
    });
  }

  private echoed(seq: number): void {
    const pending = this.echoes.get(seq);
    if (!pending) return;
    this.echoes.delete(seq);
    clearTimeout(pending.timer);
    pending.resolve();
  }

  subscribe(handler: BusHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
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
    for (const [seq, pending] of this.echoes) {
      clearTimeout(pending.timer);
      this.echoes.delete(seq);
      pending.resolve();
    }
    if (this.nc.isClosed()) return;
    // Draining needs the server: while it is unreachable, nats.js resolves drain() without
    // closing and keeps reconnecting forever, which would keep the process alive.
    if (this.up) await this.nc.drain().catch(() => {});
    if (!this.nc.isClosed()) await this.nc.close();
  }
}
