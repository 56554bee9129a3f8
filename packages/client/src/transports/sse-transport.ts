import { DisconnectReason, SseEvent, endForHttpFailure, endForSseEvent } from '../close-reasons.js';
import { parseJson, readFailure } from '../envelope.js';
import { HttpStatus } from '../errors.js';
import {
  authHeaders,
  isEventName,
  notifyUrl,
  parseMessages,
  parseSseEvent,
} from './notify-request.js';
import { SseParser } from './sse-parser.js';
import type { SseMessage } from './sse-parser.js';
import type {
  ConnectParams,
  PushConnection,
  PushEnd,
  PushHandlers,
  PushTransport,
} from './transport.js';

/**
 * The server sends a comment heartbeat at least every 30 s (CONTRACT.md "Push"); a stream
 * silent for longer than this is taken for dead and reconnected.
 */
export const SSE_IDLE_TIMEOUT_MS = 45_000;

/**
 * Push over Server-Sent Events, read with fetch + ReadableStream rather than EventSource:
 * EventSource is absent in Node and cannot send `Authorization`. The stream counts as open
 * when the 200 response headers arrive (the server attaches the connection before sending
 * them); an error status is read as the contract's envelope.
 */
export class SseTransport implements PushTransport {
  readonly name = 'sse' as const;

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly idleTimeoutMs: number = SSE_IDLE_TIMEOUT_MS,
  ) {}

  connect(params: ConnectParams, handlers: PushHandlers): PushConnection {
    const stream = new SseStream(this.fetchImpl, this.idleTimeoutMs, handlers);
    void stream.run(params);
    return stream;
  }
}

/** One SSE request and its stream. */
class SseStream implements PushConnection {
  private ended = false;
  private readonly abort = new AbortController();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly idleTimeoutMs: number,
    private readonly handlers: PushHandlers,
  ) {}

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
  }

  async run(params: ConnectParams): Promise<void> {
    let res: Response;
    try {
      res = await this.fetchImpl(notifyUrl(params, 'sse'), {
        headers: { ...authHeaders(params.token), accept: 'text/event-stream' },
        signal: this.abort.signal,
      });
    } catch {
      this.end({ kind: 'retry', reason: DisconnectReason.Network });
      return;
    }
    if (this.ended) {
      void res.body?.cancel().catch(() => {});
      return;
    }
    if (res.status !== HttpStatus.Ok) {
      this.end(endForHttpFailure(await readFailure(res)));
      return;
    }
    if (res.body === null || !isEventStream(res.headers.get('content-type'))) {
      // Not the server's stream (a captive portal, a proxy's page): maybe another transport works.
      void res.body?.cancel().catch(() => {});
      this.end({ kind: 'retry', reason: DisconnectReason.ProtocolError });
      return;
    }
    this.handlers.onOpen();
    await this.read(res.body);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser((event) => this.onEvent(event));
    this.armIdleTimer();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (this.ended) return;
        if (done) break;
        this.armIdleTimer();
        parser.push(decoder.decode(value, { stream: true }));
        if (this.ended) return;
      }
      this.end({ kind: 'retry', reason: DisconnectReason.Network });
    } catch {
      this.end({ kind: 'retry', reason: DisconnectReason.Network });
    }
  }

  private onEvent(event: SseMessage): void {
    if (this.ended) return;
    if (event.event === SseEvent.Message) {
      const messages = parseMessages(event.data);
      if (messages === null) {
        this.end({ kind: 'retry', reason: DisconnectReason.ProtocolError });
        return;
      }
      for (const msg of messages) {
        if (this.ended) return;
        this.handlers.onMessage(msg);
      }
      return;
    }
    if (isEventName(event.event)) {
      const frame = parseSseEvent(event.event, event.data);
      if (frame === null) this.end({ kind: 'retry', reason: DisconnectReason.ProtocolError });
      else if (frame.kind === 'event') this.handlers.onEvent(frame.event);
      return;
    }
    const end = endForSseEvent(event.event, codeOf(event.data));
    if (end !== undefined) this.end(end);
  }

  /** Any byte, heartbeat comments included, proves the stream alive. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.end({ kind: 'retry', reason: DisconnectReason.HeartbeatTimeout });
    }, this.idleTimeoutMs);
  }

  private end(why: PushEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.handlers.onEnd(why);
  }

  private stop(): void {
    clearTimeout(this.idleTimer);
    this.abort.abort();
  }
}

function isEventStream(contentType: string | null): boolean {
  return contentType !== null && /^text\/event-stream\b/i.test(contentType.trim());
}

/** The contract code in a closing event's `{"code","error"}` data, if present. */
function codeOf(data: string): number | undefined {
  const value = parseJson(data);
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
