import type { FastifyBaseLogger } from 'fastify';
import type {
  Bus,
  BusEvent,
  ConnectedEvent,
  MembershipEvent,
  MessageEvent,
  RevokedEvent,
} from '../bus/bus.js';
import type { Clock } from '../domain/clock.js';
import { UnavailableError } from '../domain/errors.js';
import { serializeMessage } from '../domain/message.js';
import type { Store } from '../store/store.js';
import { CloseReason } from './close-reasons.js';
import { Connection } from './connection.js';
import type { QueueLimits } from './connection.js';
import { membershipFrame, readFrame } from './event-frames.js';
import { Frame } from './frame.js';
import { noopHubMetrics } from './hub-metrics.js';
import type { HubMetrics } from './hub-metrics.js';
import { ReplayCursor } from './replay-cursor.js';
import type { ReplayStore } from './replay-cursor.js';
import type { Room } from './room.js';
import { SessionIndex } from './session-index.js';
import type { SessionEntry } from './session-index.js';
import type { PushGrant, Wire } from './wire.js';

/**
 * The store reads the Hub makes: memberships, resume replays, where a new room starts and gaps
 * in a room's order.
 */
export type HubStore = Pick<Store, 'joinedConversations' | 'lastMsgId' | 'messagesAfter'> &
  ReplayStore;

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
    this.index = new SessionIndex(
      o.store,
      o.clock,
      (room, afterId, upToId) => void this.fillGap(room, afterId, upToId),
      (room) => void this.startRoom(room),
    );
    this.unsubscribe = o.bus.subscribe((event) => this.onBusEvent(event));
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

  private deliver(conn: Connection, frame: Frame): void {
    switch (conn.offer(frame, this.limits)) {
      case 'written':
        this.metrics.delivered(1);
        return;
      case 'full':
        this.overflow(conn);
        return;
    }
  }

  private overflow(conn: Connection): void {
    this.metrics.dropped();
    // A replay still being merged has no position to keep: such a connection starts over.
    if (conn.wire.overflow === 'refill' && !conn.isStarting) conn.dropQueue();
    else this.close(conn, CloseReason.Slow);
  }

  private onBusEvent(event: BusEvent): void {
    try {
      switch (event.type) {
        case 'message':
          this.onMessage(event);
          break;
        case 'membership':
          this.onMembership(event);
          break;
        case 'connected':
          this.onConnected(event);
          break;
        case 'read':
          this.deliverEvent(event.conversationId, readFrame(event));
          break;
        case 'revoked':
          this.onRevoked(event);
          break;
        case 'disconnected':
        case 'presence':
          break;
      }
    } catch (err) {
      this.o.logger.error({ err }, 'hub failed to handle a bus event');
    }
  }

  private onMessage(event: MessageEvent): void {
    const room = this.index.room(event.conversationId);
    if (!room) return;
    for (const e of room.admit(event)) this.deliverToRoom(room, e);
  }

  /**
   * Rooms follow the change; then `joined` reaches the members including the new ones, `left`
   * the remaining members and those removed (so it goes out before the room forgets them).
   */
  private onMembership(event: MembershipEvent): void {
    const frame = membershipFrame(event);
    if (frame !== null && event.change !== 'joined') this.deliverEvent(event.conversationId, frame);
    this.index.applyMembership(event);
    if (frame !== null && event.change === 'joined') this.deliverEvent(event.conversationId, frame);
  }

  /** An event frame for the `events=1` connections of the conversation's members on this node. */
  private deliverEvent(conversationId: string, frame: Frame): void {
    const room = this.index.room(conversationId);
    if (!room) return;
    for (const entry of room.members) {
      for (const conn of entry.connections.values())
        if (conn.wantsEvents) this.deliver(conn, frame);
    }
  }

  /** Closes the connections opened with a token the revocation names. */
  private onRevoked(event: RevokedEvent): void {
    for (const conn of this.index.connectionsOf(event.session)) {
      if (event.platform !== null && conn.platform !== event.platform) continue;
      if (conn.issuedAtSec <= event.revokedBefore) this.close(conn, CloseReason.Revoked);
    }
  }

  /** One frame, serialized once, for every member's connections on this node. */
  private deliverToRoom(room: Room<SessionEntry>, event: MessageEvent): void {
    const frame = new Frame(event.msgId, event.conversationId, event.frame);
    for (const entry of room.members) {
      for (const conn of entry.connections.values()) this.deliver(conn, frame);
    }
  }

  /**
   * A new room checks its first message against the conversation's newest MsgId, read now: a
   * message the bus lost after the room was created is then found like any other gap. (One
   * lost within this read's own round trip is not.) If the read fails, the first message is
   * not checked.
   */
  private async startRoom(room: Room<SessionEntry>): Promise<void> {
    let since: string | null | undefined;
    try {
      since = await this.o.store.lastMsgId(room.conversationId);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not read where a room starts');
    }
    if (this.index.room(room.conversationId) !== room) return;
    for (const e of room.start(since)) this.deliverToRoom(room, e);
  }

  /** A message the bus has not brought in time: read the gap from the store, then go on in order. */
  private async fillGap(
    room: Room<SessionEntry>,
    afterId: string | null,
    upToId: string,
  ): Promise<void> {
    let stored: MessageEvent[] = [];
    try {
      const missed = await this.o.store.messagesAfter(
        room.conversationId,
        afterId,
        this.o.replayLimit,
      );
      stored = missed
        .filter((m) => m.MsgId <= upToId)
        .map((m) => ({
          type: 'message',
          conversationId: m.ConversationID,
          msgId: m.MsgId,
          prevMsgId: null,
          frame: serializeMessage(m),
        }));
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not fill a message gap');
    }
    if (this.index.room(room.conversationId) !== room) return;
    for (const e of room.fill(stored)) this.deliverToRoom(room, e);
  }

  private onConnected(event: ConnectedEvent): void {
    const conn = this.find(event.session, event.platform);
    if (conn && conn.generation < event.generation) this.close(conn, CloseReason.Replaced);
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
