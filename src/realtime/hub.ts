import type { FastifyBaseLogger } from 'fastify';
import type { Bus, MembershipEvent } from '../bus/bus.js';
import type { Clock } from '../domain/clock.js';
import { UnavailableError } from '../domain/errors.js';
import { CloseReason } from './close-reasons.js';
import { Connection } from './connection.js';
import type { QueueLimits } from './connection.js';
import type { Frame } from './frame.js';
import { HubEvents } from './hub-events.js';
import type { HubStore } from './hub-events.js';
import { noopHubMetrics } from './hub-metrics.js';
import type { HubMetrics } from './hub-metrics.js';
import { ReplayCursor } from './replay-cursor.js';
import { SessionIndex } from './session-index.js';
import type { PushGrant, Wire } from './wire.js';

export type { HubStore } from './hub-events.js';

export interface HubOptions {
  readonly store: HubStore;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly logger: FastifyBaseLogger;
  /** Names this node in replacement events. */
  readonly nodeId: string;
  /** Live frames queued for one connection before its wire's overflow policy applies. */
  readonly queueMaxMessages: number;
  /** The same in UTF-8 bytes; also about the most one resume replay holds in memory. */
  readonly queueMaxBytes: number;
  /** Connections this node holds at most; more are refused with `UnavailableError`. */
  readonly maxConnections: number;
  /** Most messages one resume replays (the newest ones). */
  readonly replayLimit: number;
  readonly metrics?: HubMetrics;
}

/**
 * This node's push connections. Routes each new message from the bus to the local connections
 * of the conversation's current members, merges the resume replay in front of live messages,
 * fences replacement across nodes and applies each wire's overflow policy to slow consumers.
 * Announces each (session, platform) it starts and stops holding (`connected`,
 * `disconnected`), routes event frames to `events=1` connections and closes revoked ones.
 */
export class Hub {
  private readonly index: SessionIndex;
  private readonly events: HubEvents;
  private readonly metrics: HubMetrics;
  private readonly limits: QueueLimits;
  private readonly unsubscribe: () => void;
  /** Replay pages being read from the store, with the flush that follows each. */
  private readonly reads = new Map<Connection, Promise<void>>();
  private generationCounter = 0;
  private lastGenerationTime = 0;
  /** True while live delivery cannot be trusted (bus down): no connection is accepted. */
  private suspended = false;
  /** Set by `closeAll` (shutdown): no connection is accepted again. */
  private closed = false;

  constructor(private readonly o: HubOptions) {
    this.metrics = o.metrics ?? noopHubMetrics;
    this.limits = { maxMessages: o.queueMaxMessages, maxBytes: o.queueMaxBytes };
    this.index = new SessionIndex(o.store, o.clock, {
      gap: (room, afterId, upToId) => void this.events.fillGap(room, afterId, upToId),
      created: (room, joinedAfter) => this.events.startRoom(room, joinedAfter),
      disposed: (room) => this.events.roomGone(room),
    });
    this.events = new HubEvents(o, this.index, {
      deliver: (conn, frame) => this.deliver(conn, frame),
      delivered: (count) => this.delivered(count),
      close: (conn, reason) => this.close(conn, reason),
    });
    this.unsubscribe = o.bus.subscribe((event) => this.events.handle(event));
  }

  /** Number of open connections on this node. */
  get size(): number {
    return this.index.size;
  }

  /** The connection currently holding (session, platform) on this node, if any. */
  find(session: string, platform: number): Connection | undefined {
    return this.index.find(session, platform);
  }

  /** The platforms `session` is connected on at this node, ascending; empty when none. */
  platformsOf(session: string): number[] {
    return this.index.platformsOf(session);
  }

  /** Every session connected at this node, with its platforms (ascending). */
  presence(): Iterable<[string, number[]]> {
    return this.index.presence();
  }

  /**
   * Registers a connection, replacing any older one for (session, platform) on any node,
   * follows the session's conversations on the bus (a message stored after that reaches it),
   * replays what it missed after `grant.lastMsgId`, then goes live. Resolves with the
   * connection (possibly already closed, if a newer one replaced it meanwhile) once the replay's
   * first page is read; later pages are read as the wire drains. Rejects with
   * `UnavailableError` while suspended, when this node holds `maxConnections` already (a
   * connection replacing one of its own here is let in), or if the store fails.
   */
  async attach(wire: Wire, grant: PushGrant): Promise<Connection> {
    if (this.suspended || this.closed) {
      throw new UnavailableError('live delivery unavailable; retry shortly');
    }
    const { session, platform } = grant;
    if (this.index.size >= this.o.maxConnections && !this.index.find(session, platform)) {
      throw new UnavailableError('too many connections; retry shortly');
    }
    const conn = new Connection(
      session,
      platform,
      this.nextGeneration(),
      wire,
      grant.expiresAtMs,
      grant.issuedAtSec,
      grant.events,
    );
    const { older, loaded } = this.index.add(conn);
    this.metrics.connectionOpened(wire.protocol);
    if (older) this.close(older, CloseReason.Replaced);
    this.o.bus
      .publish({
        type: 'connected',
        session,
        platform,
        generation: conn.generation,
        nodeId: this.o.nodeId,
      })
      .catch((err: unknown) =>
        this.o.logger.warn({ err: (err as Error).message }, 'bus publish failed'),
      );
    try {
      await loaded;
      if (grant.lastMsgId !== null && !conn.isClosed) await this.replay(conn, grant.lastMsgId);
    } catch (err) {
      this.drop(conn);
      throw err;
    }
    this.delivered(conn.start());
    this.readReplay(conn);
    return conn;
  }

  /** The wire can take more: writes what is queued, reading the replay's next page if it needs one. */
  drained(conn: Connection): void {
    this.delivered(conn.flush());
    this.readReplay(conn);
  }

  /**
   * Resolves once no replay page is being read for `conn`, and what the last one brought is
   * written as far as the wire takes it: a poll that must answer now waits for this first.
   */
  async settled(conn: Connection): Promise<void> {
    for (let read = this.reads.get(conn); read; read = this.reads.get(conn)) await read;
  }

  /** The peer went away: forgets the connection without writing to it. */
  detach(conn: Connection): void {
    this.drop(conn);
  }

  /** Ends a connection with a reason the client is told in its protocol's form. */
  close(conn: Connection, reason: CloseReason): void {
    if (conn.isClosed) return;
    this.drop(conn);
    if (reason === CloseReason.Replaced) this.metrics.replaced();
    conn.wire.close(reason);
  }

  /**
   * A membership change stored but not carried by the bus: rooms here follow it, and the local
   * connections of sessions that left are closed (`Unavailable`), so a kicked session stops
   * receiving on this node at once; reconnecting reloads its memberships from the store.
   */
  applyHere(event: MembershipEvent): void {
    this.index.applyMembership(event);
    if (event.change === 'joined') return;
    for (const session of event.sessions) {
      for (const conn of this.index.connectionsOf(session))
        this.close(conn, CloseReason.Unavailable);
    }
  }

  /** Live delivery is interrupted: closes every connection and refuses new ones until `resume`. */
  suspend(): void {
    this.suspended = true;
    for (const conn of this.index.all()) this.close(conn, CloseReason.Unavailable);
  }

  /** Live delivery is trustworthy again: accepts connections. */
  resume(): void {
    this.suspended = false;
  }

  /** Ends every connection (shutdown) and stops listening to the bus. */
  closeAll(reason: CloseReason): void {
    this.closed = true;
    this.unsubscribe();
    for (const conn of this.index.all()) this.close(conn, reason);
  }

  /** Runs every connection's timers against the injected clock: expiry, then the wire's own. */
  tick(): void {
    const now = this.o.clock.now();
    for (const conn of this.index.all()) {
      if (conn.expiresAtMs <= now) this.close(conn, CloseReason.Expired);
      else if (!conn.wire.tick(now)) this.close(conn, CloseReason.HeartbeatTimeout);
    }
  }

  private drop(conn: Connection): void {
    if (!conn.markClosed()) return;
    this.metrics.connectionClosed(conn.wire.protocol);
    if (!this.index.remove(conn)) return;
    const { session, platform } = conn;
    // Presence only: a lost announcement is repaired by this node's next presence snapshot.
    this.o.bus
      .publish({ type: 'disconnected', session, platform, nodeId: this.o.nodeId })
      .catch(() => {});
  }

  private delivered(count: number): void {
    if (count > 0) this.metrics.delivered(count);
  }

  /** Plans the replay after `afterId` and reads its first page, ahead of any live frame. */
  private async replay(conn: Connection, afterId: string): Promise<void> {
    const { store, replayLimit } = this.o;
    const replay = await ReplayCursor.plan(
      store,
      conn.session,
      afterId,
      replayLimit,
      this.limits.maxBytes,
    );
    if (conn.isClosed) return;
    conn.beginReplay(replay);
    if (replay.length > 0) this.metrics.replayed(await replay.read());
  }

  /** Reads the replay's next page when its wire waits for one, then writes on. */
  private readReplay(conn: Connection): void {
    const replay = conn.pendingReplay;
    if (replay === null || !replay.wantsRead || this.reads.has(conn)) return;
    const read = replay.read().then(
      (count) => {
        this.reads.delete(conn);
        this.metrics.replayed(count);
        if (conn.pendingReplay === replay) this.drained(conn);
      },
      (err: unknown) => {
        this.reads.delete(conn);
        this.o.logger.warn(
          { err: (err as Error).message, session: conn.session },
          'replay read failed',
        );
        this.close(conn, CloseReason.Unavailable);
      },
    );
    this.reads.set(conn, read);
  }

  /** Offers a live frame; true when written at once (the caller counts deliveries in bulk). */
  private deliver(conn: Connection, frame: Frame): boolean {
    switch (conn.offer(frame, this.limits)) {
      case 'written':
        return true;
      case 'full':
        this.overflow(conn);
        return false;
      default:
        return false;
    }
  }

  private overflow(conn: Connection): void {
    this.metrics.dropped();
    // A replay still being merged has no position to keep: such a connection starts over.
    if (conn.wire.overflow === 'refill' && !conn.isStarting) conn.dropQueue();
    else this.close(conn, CloseReason.Slow);
  }

  /** Strictly increasing on this node; the node id breaks ties between nodes. */
  private nextGeneration(): string {
    const t = Math.max(this.o.clock.now(), this.lastGenerationTime);
    if (t !== this.lastGenerationTime) this.generationCounter = 0;
    this.lastGenerationTime = t;
    const n = this.generationCounter++;
    return `${t.toString(36).padStart(9, '0')}.${n.toString(36).padStart(6, '0')}.${this.o.nodeId}`;
  }
}
