import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { ErrorCode } from '../domain/errors.js';
import { formatMsgId } from '../domain/msg-id.js';
import type { Connection } from '../realtime/connection.js';
import type { Hub } from '../realtime/hub.js';
import type { PushGrant } from '../realtime/wire.js';
import { PollSession, failure } from './poll-session.js';
import type { PollAnswer } from './poll-session.js';
import type { PushOptions, Transport } from './transport.js';

/**
 * Where each (session, platform)'s long-poll stands, shared by every node so the next poll
 * continues wherever it lands. The store's poll cursors satisfy it.
 */
export interface PollPositions {
  /** Saves `msgId` as the newest MsgId answered, `atMs` on the Hub's clock. */
  save(session: string, platform: number, msgId: string, atMs: number): Promise<void>;
  /** The position saved at or after `sinceMs`, or null when none is that recent. */
  load(session: string, platform: number, sinceMs: number): Promise<string | null>;
}

export interface PollTransportOptions {
  readonly hub: Pick<Hub, 'find' | 'attach' | 'detach' | 'drained' | 'settled'>;
  readonly positions: PollPositions;
  readonly clock: Clock;
  /** How long a place is kept after a poll ends, in ms. */
  readonly keepMs: number;
}

const replacedAnswer = failure(ErrorCode.Replaced);

/**
 * `GET /notify?protoc=poll`: each request finds (or opens) the place of its (session, platform),
 * waits on it for up to `timeout` seconds, answers, and saves the place's position.
 */
export class PollTransport implements Transport {
  readonly protocol = 'poll' as const;

  constructor(private readonly o: PollTransportOptions) {}

  async serve(
    grant: PushGrant,
    options: PushOptions,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { hub, clock } = this.o;
    const place = await this.place(grant);
    const session = place.wire as PollSession;
    const answer = await new Promise<PollAnswer>((resolve) => {
      if (place.isClosed) {
        resolve(replacedAnswer);
        return;
      }
      session.wait(resolve, options.batch, clock.now() + options.timeoutSec * 1000);
      request.raw.once('close', () => session.cancel(resolve, clock.now()));
      hub.drained(place);
      // A page of the resume replay may still be on its way from the store: it answers first.
      if (options.timeoutSec === 0) {
        void hub.settled(place).then(() => {
          if (session.cancel(resolve, clock.now())) resolve({ status: 204 });
        });
      }
    });
    session.touch(clock.now());
    if (answer.status === 200 || answer.status === 204) {
      await this.o.positions
        .save(grant.session, grant.platform, session.position, clock.now())
        .catch((err: unknown) => {
          request.log.warn({ err: (err as Error).message }, 'poll cursor not saved');
        });
    }
    void reply.code(answer.status);
    if (answer.body === undefined) return reply.send();
    return reply.type('application/json; charset=utf-8').send(answer.body);
  }

  /**
   * The place this poll continues: this node's, unless the client asks for another position;
   * after an overflow, a new one from the old one's position; else one from the position any
   * node saved within `keepMs`, or from now.
   */
  private async place(grant: PushGrant): Promise<Connection> {
    const { hub, clock } = this.o;
    const conn = hub.find(grant.session, grant.platform);
    const held = conn?.wire instanceof PollSession ? conn.wire : undefined;
    if (conn !== undefined && held !== undefined) {
      if (grant.lastMsgId === null || grant.lastMsgId === held.position) {
        if (!conn.hasOverflowed) return conn;
        // Its queue was dropped while no poll waited: the store refills from its position.
        hub.detach(conn);
        return this.open(grant, held.position);
      }
    }
    // No place here: another node (or this one before a bus outage) may have answered the last poll.
    const from =
      grant.lastMsgId ??
      (conn === undefined
        ? await this.o.positions.load(grant.session, grant.platform, clock.now() - this.o.keepMs)
        : null);
    return this.open(grant, from);
  }

  /** Attaches a new place replaying after `from`; without one it starts at "now". */
  private open(grant: PushGrant, from: string | null): Promise<Connection> {
    const now = this.o.clock.now();
    // A position is a MsgId, and ids take their time from the system clock, not the injected one.
    const position = from ?? formatMsgId({ timeMs: Date.now(), seq: 0, node: 0 });
    const session = new PollSession(this.o.keepMs, now, position);
    return this.o.hub.attach(session, { ...grant, lastMsgId: from });
  }
}
