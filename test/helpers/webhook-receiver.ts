import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { Changes } from './wait.js';

/** One request the receiver got, with what the spec's own library made of its signature. */
export interface ReceivedWebhook {
  readonly id: string;
  /** The request's path (a test may give each node its own). */
  readonly path: string;
  readonly timestamp: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The parsed body when the signature verified with `standardwebhooks`, else undefined. */
  readonly verified: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
  /** When it arrived, ms since the Unix epoch. */
  readonly at: number;
  /** The status it was answered (or 0 when it was left hanging). */
  status: number;
}

/** How to answer the next request: a status, or `hang` to never answer. */
export type Answer = number | 'hang';

/**
 * A real webhook receiver on 127.0.0.1: records every request, verifies it with the Standard
 * Webhooks library, and answers as `answer` says (200 by default).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly changes = new Changes();
  /** Decides each answer; replace it to fail, hang or recover. */
  answer: (r: ReceivedWebhook) => Answer = () => 200;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly secret: string,
  ) {}

  static async start(secret: string, port = 0): Promise<WebhookReceiver> {
    const holder: { receiver?: WebhookReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        holder.receiver?.handle(
          req.url ?? '',
          req.headers,
          Buffer.concat(chunks).toString('utf8'),
          res,
        ),
      );
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    const p = typeof address === 'object' && address !== null ? address.port : 0;
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${p}/hooks`, secret);
    holder.receiver = receiver;
    return receiver;
  }

  private handle(
    path: string,
    headers: IncomingHttpHeaders,
    body: string,
    res: ServerResponse,
  ): void {
    let verified: ReceivedWebhook['verified'];
    try {
      verified = new Webhook(this.secret).verify(body, {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      }) as ReceivedWebhook['verified'];
    } catch {
      verified = undefined;
    }
    const r: ReceivedWebhook = {
      id: String(headers['webhook-id']),
      path,
      timestamp: Number(headers['webhook-timestamp']),
      headers,
      body,
      verified,
      at: Date.now(),
      status: 0,
    };
    this.received.push(r);
    const answer = this.answer(r);
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
    } else {
      r.status = answer;
      res.writeHead(answer).end();
    }
    this.changes.notify();
  }

  /** Requests answered 2xx, in arrival order. */
  delivered(): ReceivedWebhook[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** Waits until `pred` holds over what was received. */
  until(
    pred: (received: readonly ReceivedWebhook[]) => boolean,
    ms: number,
    what: string,
  ): Promise<void> {
    return this.changes.until(() => pred(this.received), ms, what);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
