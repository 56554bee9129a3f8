import { DisconnectReason, endForHttpFailure } from '../close-reasons.js';
import { readFailure } from '../envelope.js';
import { HttpStatus } from '../errors.js';
import type { MsgData } from '../types.js';
import { authHeaders, notifyUrl, parseMessages } from './notify-request.js';
import type {
  ConnectParams,
  PushConnection,
  PushEnd,
  PushHandlers,
  PushTransport,
} from './transport.js';

/**
 * How much longer than its `timeout` one poll may take before the client gives up on it: the
 * server answers 204 at the deadline, so a poll still open well after it went through a dead
 * connection.
 */
export const POLL_GRACE_MS = 10_000;

export interface PollOptions {
  /** How long each poll waits on the server, 0..60 s. */
  readonly timeoutSeconds: number;
  /** Most messages per answer, 1..100; answers are then JSON arrays. */
  readonly batch: number;
}

/**
 * Push over long-poll: `GET /notify?protoc=poll&timeout=…&batch=…` in a loop, one request at a
 * time. The first poll of a connection sends `last_msg_id` and `timeout=0`, so it answers at
 * once and proves the token and server good (that is "open"); later polls leave `last_msg_id`
 * out, so the server continues from the place it keeps between polls.
 */
export class PollTransport implements PushTransport {
  readonly name = 'poll' as const;

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly options: PollOptions,
  ) {}

  connect(params: ConnectParams, handlers: PushHandlers): PushConnection {
    const loop = new PollLoop(this.fetchImpl, this.options, handlers);
    void loop.run(params);
    return loop;
  }
}

/** One long-poll connection: polls until it ends or is closed. */
class PollLoop implements PushConnection {
  private ended = false;
  /** Aborts the poll in flight. */
  private abort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly options: PollOptions,
    private readonly handlers: PushHandlers,
  ) {}

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopRequest();
  }

  async run(params: ConnectParams): Promise<void> {
    let first = true;
    while (!this.ended) {
      const timeout = first ? 0 : this.options.timeoutSeconds;
      const url = notifyUrl(first ? params : { ...params, lastMsgId: null }, 'poll', {
        timeout,
        batch: this.options.batch,
      });
      const answer = await this.poll(url, params.token, timeout);
      if (this.ended) return;
      if (answer.kind === 'end') {
        this.end(answer.end);
        return;
      }
      if (first) this.handlers.onOpen();
      first = false;
      for (const msg of answer.messages) {
        if (this.ended) return;
        this.handlers.onMessage(msg);
      }
    }
  }

  /** One poll: its messages (none for 204), or how the connection ends. */
  private async poll(
    url: string,
    token: string,
    timeoutSeconds: number,
  ): Promise<{ kind: 'messages'; messages: MsgData[] } | { kind: 'end'; end: PushEnd }> {
    const abort = new AbortController();
    this.abort = abort;
    let timedOut = false;
    this.timer = setTimeout(
      () => {
        timedOut = true;
        abort.abort();
      },
      timeoutSeconds * 1000 + POLL_GRACE_MS,
    );
    try {
      const res = await this.fetchImpl(url, { headers: authHeaders(token), signal: abort.signal });
      if (res.status === HttpStatus.NoContent) return { kind: 'messages', messages: [] };
      if (res.status !== HttpStatus.Ok) {
        return { kind: 'end', end: endForHttpFailure(await readFailure(res)) };
      }
      const messages = parseMessages(await res.text());
      if (messages === null) {
        return { kind: 'end', end: { kind: 'retry', reason: DisconnectReason.ProtocolError } };
      }
      return { kind: 'messages', messages };
    } catch {
      const reason = timedOut ? DisconnectReason.HeartbeatTimeout : DisconnectReason.Network;
      return { kind: 'end', end: { kind: 'retry', reason } };
    } finally {
      this.stopRequest();
    }
  }

  private end(why: PushEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.stopRequest();
    this.handlers.onEnd(why);
  }

  private stopRequest(): void {
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = null;
  }
}
