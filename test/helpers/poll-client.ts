import { get } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { PushInbox, notifyUrl, parseMsgData } from './push-inbox.js';
import type { NotifyParams } from './push-inbox.js';
import type { TestServer } from './server.js';

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
export class PollClient extends PushInbox {
  readonly protocol = 'poll' as const;
  /** Answers other than 200 and 204, e.g. the 409 of a replaced place; the loop stops on one. */
  readonly failures: PollResult[] = [];
  /** A network failure that stopped the loop. */
  readonly errors: Error[] = [];
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly server: TestServer,
    private readonly token: string,
  ) {
    super();
  }

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

  /** Resolves once the loop has stopped on a failure answer or a network error. */
  waitForStop(timeoutMs: number, what = 'the poll loop to stop'): Promise<void> {
    return this.until(() => this.stopped, timeoutMs, what);
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.changes.notify();
    await this.loop;
  }

  private take(res: PollResult): boolean {
    if (res.status === 200) {
      const list = Array.isArray(res.body) ? res.body : [res.body];
      for (const m of list) this.receive(parseMsgData(JSON.stringify(m)));
      return true;
    }
    if (res.status === 204) return true;
    this.failures.push(res);
    this.changes.notify();
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
        if (!this.abort.signal.aborted) {
          this.errors.push(err as Error);
          this.changes.notify();
        }
        return;
      }
      if (!this.take(res)) return;
    }
  }
}
