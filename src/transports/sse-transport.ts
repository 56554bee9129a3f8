import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Hub } from '../realtime/hub.js';
import type { PushGrant } from '../realtime/wire.js';
import { SseWire } from './sse-wire.js';
import type { PushOptions, Transport } from './transport.js';

export interface SseTransportOptions {
  readonly hub: Pick<Hub, 'attach' | 'detach' | 'drained'>;
  readonly clock: Clock;
  readonly heartbeatMs: number;
  /** Sent with the stream's headers (CORS). */
  readonly headers: Readonly<Record<string, string>>;
}

/** `GET /notify?protoc=sse`: takes over the response and streams `text/event-stream`. */
export class SseTransport implements Transport {
  readonly protocol = 'sse' as const;

  constructor(private readonly o: SseTransportOptions) {}

  /**
   * Attaches first, so a refusal (suspended, store down) is still an ordinary JSON answer;
   * then hijacks the response from Fastify and keeps it open until either side closes.
   */
  async serve(
    grant: PushGrant,
    options: PushOptions,
    _request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const { hub, clock } = this.o;
    const wire = new SseWire(this.o.heartbeatMs);
    const conn = await hub.attach(wire, grant);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...this.o.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    res.on('close', () => hub.detach(conn));
    options.opened();
    wire.open(res, clock.now(), () => hub.drained(conn));
    hub.drained(conn);
  }
}
