import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { QuickImClient } from '@quick-im/client';
import type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  DisconnectedEvent,
  MsgData,
  PushEvent,
  Transport,
} from '@quick-im/client';
import type { TestServer } from '../helpers/server.js';
import { Changes } from '../helpers/wait.js';

/** Reconnect quickly, so tests wait on events for milliseconds, not seconds. */
export const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 } as const;

/** Each test fails within this instead of hanging when an awaited event never comes. */
export const TEST_TIMEOUT_MS = 20_000;

export const TRANSPORTS: readonly Transport[] = ['ws', 'sse', 'poll'];

/**
 * Clients made by one test file, closed by `closeAll` (call it in `after`/`afterEach`), so a
 * failing test does not leave push running.
 */
export class ClientPool {
  private readonly clients: QuickImClient[] = [];

  /** A client of `server` with Node's WebSocket and a fast reconnect; `options` override. */
  create(server: TestServer | string, options: Partial<ClientOptions> = {}): QuickImClient {
    const client = new QuickImClient({
      baseUrl: typeof server === 'string' ? server : server.url,
      WebSocket,
      reconnect: FAST_RECONNECT,
      connectTimeoutMs: 3000,
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  /** A client holding a fresh token for (session, platform). */
  async forSession(
    server: TestServer,
    session: string,
    platform = 1,
    options: Partial<ClientOptions> = {},
  ): Promise<QuickImClient> {
    return this.create(server, { token: await server.token(session, platform), ...options });
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.close();
  }
}

/** Everything a client emits, in order, for assertions after waiting on events. */
export class Recorder {
  readonly messages: MsgData[] = [];
  readonly connected: Transport[] = [];
  readonly disconnected: DisconnectedEvent[] = [];
  readonly states: ConnectionState[] = [];
  /** The `read`, `joined` and `left` events, in the order emitted. */
  readonly events: PushEvent[] = [];
  replaced = 0;
  private readonly changes = new Changes();

  constructor(readonly client: QuickImClient) {
    client.on('message', (m) => this.record(() => this.messages.push(m)));
    client.on('connected', (e) => this.record(() => this.connected.push(e.transport)));
    client.on('disconnected', (e) => this.record(() => this.disconnected.push(e)));
    client.on('state', (s) => this.record(() => this.states.push(s)));
    client.on('replaced', () => this.record(() => this.replaced++));
    for (const name of ['read', 'joined', 'left'] as const) {
      client.on(name, (e: PushEvent) => this.record(() => this.events.push(e)));
    }
  }

  /** Waits until an event matching `match` arrived; resolves with it. */
  async event(
    match: (e: PushEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<PushEvent> {
    await this.until(
      () => this.events.some(match),
      timeoutMs,
      () => `${what} (have ${JSON.stringify(this.events)})`,
    );
    return this.events.find(match) as PushEvent;
  }

  /**
   * Resolves once `predicate` holds; it is checked now and after each event the client
   * emits. Rejects after `timeoutMs` naming `what`.
   */
  until(predicate: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    return this.changes.until(predicate, timeoutMs, what);
  }

  /** Applies one event's change, then re-checks the pending `until`s. */
  private record(change: () => void): void {
    change();
    this.changes.notify();
  }

  /** Message contents in delivery order. */
  contents(): string[] {
    return this.messages.map((m) => m.Content);
  }

  /** Waits until at least `n` messages arrived. */
  async messageCount(n: number, timeoutMs = 10_000): Promise<void> {
    await this.until(
      () => this.messages.length >= n,
      timeoutMs,
      () => `${n} messages (have ${this.messages.length}: ${this.contents().join(',')})`,
    );
  }

  /** Waits until a message with `content` arrived. */
  async message(content: string, timeoutMs = 10_000): Promise<MsgData> {
    await this.until(
      () => this.messages.some((m) => m.Content === content),
      timeoutMs,
      () => `message "${content}" (have ${this.contents().join(',')})`,
    );
    return this.messages.find((m) => m.Content === content) as MsgData;
  }
}

/** The next `event` the client emits; rejects after `timeoutMs`. */
export function nextEvent<K extends keyof ClientEvents>(
  client: QuickImClient,
  event: K,
  timeoutMs = 10_000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(event, (value) => {
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

/** Waits until the client's state is `state`: now, or on the `state` event that makes it so. */
export async function stateIs(
  client: QuickImClient,
  state: ConnectionState,
  timeoutMs = 10_000,
): Promise<void> {
  const changes = new Changes();
  const off = client.on('state', () => changes.notify());
  try {
    await changes.until(
      () => client.state === state,
      timeoutMs,
      () => `state ${state} (is ${client.state})`,
    );
  } finally {
    off();
  }
}

/** Sends through the server's HTTP API as `token`'s session; resolves with the MsgId. */
export async function send(
  server: TestServer,
  token: string,
  conversationId: string,
  content: string,
): Promise<string> {
  const res = await server.post(
    '/send_msg',
    { conversation_id: conversationId, status: 0, type: 1, content },
    token,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.MsgID as string;
}

/** Asserts every MsgId occurs once and the messages came in MsgId order. */
export function assertOnceInOrder(messages: readonly MsgData[]): void {
  const ids = messages.map((m) => m.MsgId);
  assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids.join(',')}`);
  assert.deepEqual(ids, [...ids].sort(), 'messages out of MsgId order');
}
