import { Backoff, delay } from './backoff.js';
import { runAttempt } from './connection-attempt.js';
import { DisconnectReason } from './close-reasons.js';
import type { Emitter } from './emitter.js';
import { ErrorCode, HttpStatus, QuickImError } from './errors.js';
import { RecentIds } from './recent-ids.js';
import type { TokenSource } from './token-source.js';
import type { PushTransport } from './transports/transport.js';
import type {
  ClientEvents,
  ConnectionState,
  DisconnectedEvent,
  MsgData,
  PushEvent,
  ReconnectOptions,
  Transport,
} from './types.js';

/** A connection up this long proved the network good: the backoff starts over afterwards. */
export const STABLE_CONNECTION_MS = 10_000;

export interface ConnectionManagerOptions {
  readonly baseUrl: string;
  /** In fallback order; never empty. */
  readonly transports: readonly PushTransport[];
  readonly tokens: TokenSource;
  readonly reconnect: ReconnectOptions;
  readonly connectTimeoutMs: number;
  /** Resume point of the first connection. */
  readonly lastMsgId: string | null;
  /** Ask every connection for event frames. */
  readonly pushEvents: boolean;
  readonly events: Emitter<ClientEvents>;
}

type DisconnectInfo = Pick<DisconnectedEvent, 'reason' | 'code'>;

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: QuickImError): void;
}

/**
 * Keeps one push connection open: tries the transports in order until one opens within
 * `connectTimeoutMs`, reconnects with jittered backoff to the transport that last worked
 * (falling through the rest again if it stops opening), resumes each time from the greatest
 * MsgId delivered, renews rejected tokens, and delivers each MsgId once.
 *
 * Every connection attempt belongs to one run, owned by an AbortController: `close()` aborts
 * it, which closes the connection in progress and cuts any backoff wait, so nothing is left
 * pending (a Node process with a closed client exits by itself).
 */
export class ConnectionManager {
  private stateValue: ConnectionState = 'idle';
  private current: Transport | null = null;
  private last: string | null;
  private readonly recent = new RecentIds();
  private readonly backoff: Backoff;
  /** Index in `transports` of the transport that last opened: reconnects start there. */
  private preferred = 0;
  private run: AbortController | null = null;
  /** The promise `connect()` handed out, settled by the next open or the end of push. */
  private waiting: Deferred | null = null;

  constructor(private readonly o: ConnectionManagerOptions) {
    this.last = o.lastMsgId;
    this.backoff = new Backoff(o.reconnect);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get transport(): Transport | null {
    return this.current;
  }

  /** The greatest MsgId delivered (string order), else the configured resume point, else null. */
  get lastMsgId(): string | null {
    return this.last;
  }

  /** Starts push if it is not running; resolves once a connection is open. */
  connect(): Promise<void> {
    if (this.stateValue === 'connected') return Promise.resolve();
    const waiting = (this.waiting ??= deferred());
    if (this.run === null) {
      const run = new AbortController();
      this.run = run;
      this.backoff.reset();
      this.setState('connecting');
      void this.loop(run.signal);
    }
    return waiting.promise;
  }

  /** Stops push for good (until `connect()` is called again). */
  close(): void {
    const run = this.run;
    this.run = null;
    run?.abort();
    const transport = this.current;
    this.current = null;
    // Settled before any listener runs, so a listener calling connect() gets a fresh promise.
    this.settle(new QuickImError(ErrorCode.Closed, 0, 'the client was closed'));
    this.setState('closed');
    if (transport !== null) {
      this.o.events.emit('disconnected', {
        transport,
        reason: DisconnectReason.Closed,
        willReconnect: false,
      });
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let index = this.preferred;
    // Tokens renewed since a connection last opened: a renewed token refused again waits first.
    let renewals = 0;
    while (!signal.aborted) {
      const transport = this.o.transports[index] as PushTransport;
      let token: string;
      try {
        token = await this.o.tokens.current();
      } catch {
        await delay(this.backoff.next(), signal);
        continue;
      }
      if (signal.aborted) return;
      const outcome = await runAttempt(
        transport,
        { baseUrl: this.o.baseUrl, token, lastMsgId: this.last, events: this.o.pushEvents },
        {
          onOpen: () => this.opened(transport.name),
          onMessage: (msg) => this.deliver(msg),
          onEvent: (event) => this.announce(event),
        },
        this.o.connectTimeoutMs,
        signal,
      );
      if (outcome === null || signal.aborted) return;
      const { opened, upMs, end } = outcome;
      const name = transport.name;
      if (opened) {
        this.preferred = index;
        renewals = 0;
        if (upMs >= STABLE_CONNECTION_MS) this.backoff.reset();
      }
      switch (end.kind) {
        case 'replaced': {
          const error = new QuickImError(
            ErrorCode.Replaced,
            HttpStatus.Conflict,
            'logged in elsewhere',
          );
          this.stop(name, { reason: DisconnectReason.Replaced, code: end.code }, 'replaced', error);
          return;
        }
        case 'fatal':
          this.stop(
            name,
            { reason: DisconnectReason.ProtocolError, code: end.error.code },
            'closed',
            end.error,
          );
          return;
        case 'unauthorized': {
          const info = { reason: DisconnectReason.TokenRejected, code: end.code };
          if (!this.o.tokens.canRenew) {
            const error = new QuickImError(
              ErrorCode.Unauthorized,
              HttpStatus.Unauthorized,
              'token rejected',
            );
            this.stop(name, info, 'closed', error);
            return;
          }
          if (opened) this.lost(name, info);
          if (renewals > 0) await delay(this.backoff.next(), signal);
          if (signal.aborted) return;
          try {
            await this.o.tokens.renew(token);
            renewals++;
          } catch {
            await delay(this.backoff.next(), signal);
          }
          index = this.preferred;
          break;
        }
        case 'retry':
          if (opened) {
            this.lost(name, { reason: end.reason, code: end.code });
          } else if (index + 1 < this.o.transports.length) {
            // Failed before opening: the next transport, at once.
            index++;
            break;
          }
          await delay(this.backoff.next(), signal);
          index = this.preferred;
          break;
      }
    }
  }

  private opened(transport: Transport): void {
    this.current = transport;
    this.settle(null);
    this.setState('connected');
    this.o.events.emit('connected', { transport });
  }

  /** Each MsgId once; `lastMsgId` only ever grows (ids compare as strings). */
  private deliver(msg: MsgData): void {
    if (!this.recent.add(msg.MsgId)) return;
    if (this.last === null || msg.MsgId > this.last) this.last = msg.MsgId;
    this.o.events.emit('message', msg);
  }

  /** Events are live hints, never replayed: each is emitted as it comes, by its own name. */
  private announce(event: PushEvent): void {
    switch (event.Event) {
      case 'read':
        this.o.events.emit('read', event);
        break;
      case 'joined':
        this.o.events.emit('joined', event);
        break;
      case 'left':
        this.o.events.emit('left', event);
        break;
    }
  }

  /** An open connection ended; a reconnect follows. */
  private lost(transport: Transport, info: DisconnectInfo): void {
    this.current = null;
    this.setState('reconnecting');
    this.o.events.emit('disconnected', { transport, ...info, willReconnect: true });
  }

  /** Push ends for good: replaced, or a failure that retrying would repeat. */
  private stop(
    transport: Transport,
    info: DisconnectInfo,
    state: 'replaced' | 'closed',
    error: QuickImError,
  ): void {
    this.run = null;
    this.current = null;
    this.settle(error);
    this.setState(state);
    this.o.events.emit('disconnected', { transport, ...info, willReconnect: false });
    if (state === 'replaced') this.o.events.emit('replaced', undefined);
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.o.events.emit('state', state);
  }

  /** Resolves (null) or rejects the promise `connect()` handed out, if any. */
  private settle(error: QuickImError | null): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting === null) return;
    if (error === null) waiting.resolve();
    else waiting.reject(error);
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: QuickImError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
