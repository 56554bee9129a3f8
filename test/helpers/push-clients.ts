import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

/** `MsgData` as the contract spells it. */
export interface MsgData {
  readonly MsgId: string;
  readonly ConversationID: string;
  readonly FromSession: string;
  readonly SendTime: number;
  readonly Status: number;
  readonly Type: number;
  readonly Content: string;
}

/** The contract's `MsgData` keys, sorted. */
export const MSG_DATA_KEYS = [
  'Content',
  'ConversationID',
  'FromSession',
  'MsgId',
  'SendTime',
  'Status',
  'Type',
];

export type Protocol = 'ws' | 'sse' | 'poll';
export const PROTOCOLS: readonly Protocol[] = ['ws', 'sse', 'poll'];

/** Query parameters of `/notify`; `undefined` values are left out. */
export type NotifyParams = Readonly<Record<string, string | number | undefined>>;

/** `/notify` on `server` with `params` (and `protoc`), as an http:// or ws:// URL. */
export function notifyUrl(server: TestServer, protoc: string, params: NotifyParams = {}): string {
  const url = new URL('/notify', protoc === 'ws' ? server.url.replace(/^http/, 'ws') : server.url);
  url.searchParams.set('protoc', protoc);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/** Parses one pushed `MsgData` JSON text, checking it has exactly the contract's keys. */
export function parseMsgData(text: string): MsgData {
  const value: unknown = JSON.parse(text);
  assert.equal(typeof value, 'object', text);
  assert.ok(value !== null && !Array.isArray(value), text);
  assert.deepEqual(Object.keys(value as object).sort(), MSG_DATA_KEYS, text);
  return value as MsgData;
}

/** Messages pushed to one connection. */
export interface PushClient {
  readonly protocol: Protocol;
  readonly messages: MsgData[];
  /** The client goes away (no close handshake is awaited beyond a short bound). */
  close(): Promise<void>;
}

export interface WsOptions {
  /** Answer server pings (the `ws` default); false to simulate a dead peer. */
  readonly autoPong?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A WebSocket push client: each text frame as `MsgData`, and the close code and reason. */
export class WsClient implements PushClient {
  readonly protocol = 'ws' as const;
  readonly messages: MsgData[] = [];
  /** Pings received from the server. */
  pings = 0;
  closeCode: number | undefined;
  closeReason: string | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'push frames are text');
      this.messages.push(parseMsgData(String(data)));
    });
    ws.on('ping', () => this.pings++);
    ws.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      }),
    );
  }

  get isClosed(): boolean {
    return this.closeCode !== undefined;
  }

  /** Opens a WebSocket to `url`; rejects if the handshake is refused or fails. */
  static open(url: string, options: WsOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      autoPong: options.autoPong ?? true,
      headers: { ...options.headers },
      handshakeTimeout: 10_000,
    });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`handshake refused: HTTP ${res.statusCode}`));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Resolves with the close code once the connection has closed (rejects after `timeoutMs`). */
  async closed(timeoutMs = 5000): Promise<number> {
    await waitFor(() => this.isClosed, timeoutMs, 'the WebSocket to close');
    return this.closeCode as number;
  }

  /** Stops reading from the socket; the server's writes back up. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Sends a ping and resolves on its pong: every frame the client sent before has been read. */
  async roundTrip(timeoutMs = 5000): Promise<void> {
    let ponged = false;
    this.ws.once('pong', () => (ponged = true));
    this.ws.ping();
    await waitFor(() => ponged, timeoutMs, 'a pong from the server');
  }

  /** Closes with a handshake (waits a bounded time), then drops the socket. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.ws.close(1000);
      await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, 1000))]);
      this.ws.terminate();
    }
    await this.closedPromise;
  }

  /** Drops the TCP connection without a close handshake. */
  async terminate(): Promise<void> {
    this.ws.terminate();
    await this.closedPromise;
  }
}

/** An HTTP answer instead of a WebSocket: status, headers and the parsed JSON body. */
export interface Refusal {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked field by field
  readonly body: any;
}

/** Attempts a WebSocket handshake that the server must refuse; resolves with its HTTP answer. */
export function wsRefusal(url: string, headers: Record<string, string> = {}): Promise<Refusal> {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers, handshakeTimeout: 5000 });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the handshake was accepted'));
    });
    ws.once('error', (err) => reject(err));
    ws.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
  });
}

/** One SSE block: the fields it set and its lines as received. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string | undefined;
  readonly lines: readonly string[];
}

/**
 * A Server-Sent Events client over node:http: parses blocks into `events` (and `messages`
 * for `event: message`) and keeps comment lines in `comments`.
 */
export class SseClient implements PushClient {
  readonly protocol = 'sse' as const;
  readonly messages: MsgData[] = [];
  readonly events: SseEvent[] = [];
  /** Comment lines without the leading `:`. */
  readonly comments: string[] = [];
  /** Set when the server ended the stream (or the connection dropped). */
  ended = false;
  private buffer = '';
  private res: IncomingMessage | undefined;

  private constructor(private readonly req: ClientRequest) {}

  get headers(): IncomingHttpHeaders {
    return this.res?.headers ?? {};
  }

  /** Resolves once the response headers are in; rejects unless HTTP 200 `text/event-stream`. */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
      const client = new SseClient(req);
      req.once('error', reject);
      req.once('response', (res) => {
        const type = String(res.headers['content-type']);
        if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
          req.destroy();
          reject(new Error(`SSE answered HTTP ${res.statusCode} ${type}`));
          return;
        }
        client.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('error', () => {});
        res.once('close', () => (client.ended = true));
        resolve(client);
      });
    });
  }

  /** Resolves once the stream has ended. */
  async closed(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.ended, timeoutMs, 'the SSE stream to end');
  }

  /** Stops reading: the response and its socket stay paused until `resume`. */
  pause(): void {
    this.res?.pause();
    this.res?.socket.pause();
  }

  resume(): void {
    this.res?.socket.resume();
    this.res?.resume();
  }

  close(): Promise<void> {
    this.req.destroy();
    return this.closed();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.parse(block.split('\n'));
    }
  }

  private parse(lines: string[]): void {
    const fields = new Map<string, string>();
    const kept: string[] = [];
    for (const line of lines) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      kept.push(line);
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      fields.set(
        name,
        name === 'data' && fields.has('data') ? `${fields.get('data')}\n${value}` : value,
      );
    }
    if (kept.length === 0) return;
    const event: SseEvent = {
      id: fields.get('id'),
      event: fields.get('event'),
      data: fields.get('data'),
      lines: kept,
    };
    this.events.push(event);
    if ((event.event ?? 'message') === 'message' && event.data !== undefined) {
      this.messages.push(parseMsgData(event.data));
    }
  }
}

/** One long-poll answer: status, headers and the parsed JSON body (undefined for 204). */
export interface PollResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked field by field
  readonly body: any;
}

/**
 * One `GET /notify?protoc=poll` request on its own connection (no pool: an aborted poll
 * leaves no half-open connection behind to delay the server's shutdown). Rejects when
 * `signal` aborts it.
 */
export function poll(
  server: TestServer,
  params: NotifyParams,
  init: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<PollResult> {
  return new Promise((resolve, reject) => {
    const req = get(notifyUrl(server, 'poll', params), { headers: init.headers, agent: false });
    const onAbort = (): void => {
      req.destroy();
      reject(new Error('poll aborted'));
    };
    if (init.signal?.aborted) return onAbort();
    init.signal?.addEventListener('abort', onAbort, { once: true });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => {
        init.signal?.removeEventListener('abort', onAbort);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
  });
}

const MAX_POLLS = 100_000;

/**
 * A long-poll loop: polls with `batch=100` until closed, collecting messages. `open` resolves
 * once the server holds the place (after a first `timeout=0` poll), or with the first poll's
 * failure in `failures` and no loop.
 */
export class PollClient implements PushClient {
  readonly protocol = 'poll' as const;
  readonly messages: MsgData[] = [];
  /** Answers other than 200 and 204, e.g. the 409 of a replaced place; the loop stops on one. */
  readonly failures: PollResult[] = [];
  /** A network failure that stopped the loop. */
  readonly errors: Error[] = [];
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly server: TestServer,
    private readonly token: string,
  ) {}

  static async open(
    server: TestServer,
    token: string,
    params: NotifyParams = {},
  ): Promise<PollClient> {
    const client = new PollClient(server, token);
    const first = await poll(server, { token, timeout: 0, batch: 100, ...params });
    if (client.take(first)) client.loop = client.run();
    return client;
  }

  get stopped(): boolean {
    return this.abort.signal.aborted || this.failures.length > 0 || this.errors.length > 0;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private take(res: PollResult): boolean {
    if (res.status === 200) {
      const list = Array.isArray(res.body) ? res.body : [res.body];
      for (const m of list) this.messages.push(parseMsgData(JSON.stringify(m)));
      return true;
    }
    if (res.status === 204) return true;
    this.failures.push(res);
    return false;
  }

  private async run(): Promise<void> {
    for (let i = 0; i < MAX_POLLS && !this.abort.signal.aborted; i++) {
      let res: PollResult;
      try {
        res = await poll(
          this.server,
          { token: this.token, timeout: 30, batch: 100 },
          { signal: this.abort.signal },
        );
      } catch (err) {
        if (!this.abort.signal.aborted) this.errors.push(err as Error);
        return;
      }
      if (!this.take(res)) return;
    }
  }
}

/** Opens a push connection of `protocol`; resolves once the server holds it. */
export async function openPush(
  server: TestServer,
  protocol: Protocol,
  token: string,
  params: NotifyParams = {},
): Promise<PushClient> {
  switch (protocol) {
    case 'ws':
      return WsClient.open(notifyUrl(server, 'ws', { token, ...params }));
    case 'sse':
      return SseClient.open(notifyUrl(server, 'sse', { token, ...params }));
    case 'poll':
      return PollClient.open(server, token, params);
  }
}

/** Closes every client, ignoring failures of clients that are already gone. */
export async function closeAll(clients: Iterable<PushClient>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close().catch(() => {})));
}
