import assert from 'node:assert/strict';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { EVENT_WAIT_MS, PushInbox, parseMsgData } from './push-inbox.js';
import { withTimeout } from './wait.js';

export interface WsOptions {
  /** Answer server pings (the `ws` default); false to simulate a dead peer. */
  readonly autoPong?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How long `close()` waits for the server's half of the close handshake before dropping. */
const CLOSE_HANDSHAKE_MS = 1000;

/** A WebSocket push client: each text frame as `MsgData`, and the close code and reason. */
export class WsClient extends PushInbox {
  readonly protocol = 'ws' as const;
  /** Pings received from the server. */
  pings = 0;
  /** Event frames (`events=1`): JSON objects with an `Event` key, in arrival order. */
  readonly events: Record<string, unknown>[] = [];
  closeCode: number | undefined;
  closeReason: string | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'push frames are text');
      const text = String(data);
      const value = JSON.parse(text) as Record<string, unknown>;
      if ('Event' in value) {
        this.events.push(value);
        this.changes.notify();
      } else this.receive(parseMsgData(text));
    });
    ws.on('ping', () => {
      this.pings++;
      this.changes.notify();
    });
    ws.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
        this.changes.notify();
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
  async closed(timeoutMs = EVENT_WAIT_MS): Promise<number> {
    await withTimeout(this.closedPromise, timeoutMs, 'the WebSocket to close');
    return this.closeCode as number;
  }

  /** Resolves once the server has sent at least `n` pings. */
  waitForPings(n: number, timeoutMs = EVENT_WAIT_MS): Promise<void> {
    return this.until(
      () => this.pings >= n,
      timeoutMs,
      () => `ping ${n} (got ${this.pings})`,
    );
  }

  /** Stops reading from the socket; the server's writes back up. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Sends a ping and resolves on its pong: every frame the client sent before has been read. */
  roundTrip(timeoutMs = EVENT_WAIT_MS): Promise<void> {
    const ponged = new Promise<void>((resolve) => this.ws.once('pong', () => resolve()));
    this.ws.ping();
    return withTimeout(ponged, timeoutMs, 'a pong from the server');
  }

  /** Closes with a handshake (waits a bounded time), then drops the socket. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.ws.close(1000);
      await withTimeout(this.closedPromise, CLOSE_HANDSHAKE_MS, 'the close handshake').catch(
        () => {},
      );
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
