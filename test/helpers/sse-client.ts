import { get } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { EVENT_WAIT_MS, PushInbox, parseMsgData } from './push-inbox.js';
import { withTimeout } from './wait.js';

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
export class SseClient extends PushInbox {
  readonly protocol = 'sse' as const;
  readonly events: SseEvent[] = [];
  /** Comment lines without the leading `:`. */
  readonly comments: string[] = [];
  /** Set when the server ended the stream (or the connection dropped). */
  ended = false;
  private buffer = '';
  private res: IncomingMessage | undefined;
  private readonly endedPromise: Promise<void>;
  private markEnded: () => void = () => {};

  private constructor(private readonly req: ClientRequest) {
    super();
    this.endedPromise = new Promise((resolve) => {
      this.markEnded = () => {
        this.ended = true;
        resolve();
        this.changes.notify();
      };
    });
  }

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
        res.once('close', () => client.markEnded());
        resolve(client);
      });
    });
  }

  /** Resolves once the stream has ended. */
  closed(timeoutMs = EVENT_WAIT_MS): Promise<void> {
    return withTimeout(this.endedPromise, timeoutMs, 'the SSE stream to end');
  }

  /** Resolves once at least `n` SSE events (message or not) have arrived. */
  waitForEvents(n: number, timeoutMs = EVENT_WAIT_MS): Promise<void> {
    return this.until(
      () => this.events.length >= n,
      timeoutMs,
      () => `${n} SSE events, got ${this.events.length}`,
    );
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
    this.changes.notify();
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
      this.receive(parseMsgData(event.data));
    }
  }
}
