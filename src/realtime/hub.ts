import type { FastifyBaseLogger } from 'fastify';
import type { Bus, BusEvent, ConnectedEvent, MembershipEvent, MessageEvent } from '../bus/bus.js';
import { UnavailableError } from '../domain/errors.js';
import { serializeMessage } from '../domain/message.js';
import { formatMsgId, msgIdBefore } from '../domain/msg-id.js';
import type { Store } from '../store/store.js';
import type { Wire } from '../transports/transport.js';
import type { Clock } from '../domain/clock.js';
import { CloseReason } from './close-reasons.js';
import { Frame } from './frame.js';
import { Room } from './room.js';
import { noopHubMetrics } from './hub-metrics.js';
import type { HubMetrics } from './hub-metrics.js';

export interface HubOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly logger: FastifyBaseLogger;
  /** Names this node in replacement events. */
  readonly nodeId: string;
  readonly queueMaxMessages: number;
  readonly queueMaxBytes: number;
  /** Most messages one resume replays (the newest ones). */
  readonly replayLimit: number;
  readonly metrics?: HubMetrics;
}

export interface AttachOptions {
  /** Replay every message after this id before going live. */
  readonly lastMsgId: string | null;
  /** When the token expires, ms since the Unix epoch on the Hub's clock. */
  readonly expiresAtMs: number;
}

/** One push connection as the Hub sees it. Transports hold it only to call the Hub back. */
export class Connection {
  /** Frames waiting for the wire's capacity, oldest first. */
  queue: Frame[] = [];
  queuedBytes = 0;
  /**
   * How many frames at the head of `queue` a resume read from the store, and their bytes. The
   * replay is bounded by `replayLimit`; the slow-consumer bounds apply to what queues behind it.
   */
  replayedFrames = 0;
  replayedBytes = 0;
  /**
   * Per conversation, the newest id the resume replay sent: a live message at or below it
   * (stored before the replay read, announced after) is not sent twice. Emptied as live
   * messages pass it.
   */
  replayedUpTo: Map<string, string> | null = null;
  /** Live frames collect but are not written until the resume replay is merged in front. */
  starting = true;
  closed = false;
  /** The newest MsgId handed to the wire; a long-poll place resumes from it after an overflow. */
  lastSentId: string | null;
  /** A long-poll place whose queue overflowed: the next poll refills it from the store. */
  overflowed = false;

  constructor(
    readonly session: string,
    readonly platform: number,
    readonly generation: string,
    readonly wire: Wire,
    readonly expiresAtMs: number,
    lastMsgId: string | null,
  ) {
    this.lastSentId = lastMsgId;
  }
}

interface SessionEntry {
  readonly session: string;
  readonly connections: Map<number, Connection>;
  /** Conversations the session is a current member of; null while loading. */
  conversations: Set<string> | null;
  /** Membership events that arrived while loading, applied in order once loaded. */
  pending: MembershipEvent[];
  loaded: Promise<void>;
}

/**
 * This node's push connections, indexed by session and platform. Routes each new message to
 * the local connections of the conversation's current members, merges the resume replay in
 * front of live messages, fences replacement and closes slow consumers.
 */
export class Hub {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly rooms = new Map<string, Room<SessionEntry>>();
  private readonly metrics: HubMetrics;
  private readonly unsubscribe: () => void;
  private generationCounter = 0;
  /** True while live delivery cannot be trusted (bus down): no connection is accepted. */
  private suspended = false;
  private lastGenerationTime = 0;

  constructor(private readonly o: HubOptions) {
    this.metrics = o.metrics ?? noopHubMetrics;
    this.unsubscribe = o.bus.subscribe((event) => this.onBusEvent(event));
  }

  /** Number of open connections on this node. */
  get size(): number {
    let n = 0;
    for (const e of this.sessions.values()) n += e.connections.size;
    return n;
  }

  /** The connection currently holding (session, platform) on this node, if any. */
  find(session: string, platform: number): Connection | undefined {
    return this.sessions.get(session)?.connections.get(platform);
  }

  /**
   * Registers a connection, replacing any older one for (session, platform) on any node,
   * replays what it missed after `lastMsgId`, then goes live. Resolves with the connection
   * (possibly already closed, if a newer one replaced it meanwhile). Rejects if the store fails.
   */
  async attach(
    session: string,
    platform: number,
    wire: Wire,
    options: AttachOptions,
  ): Promise<Connection> {
    if (this.suspended) throw new UnavailableError('live delivery unavailable; retry shortly');
    const entry = this.entryFor(session);
    const conn = new Connection(
      session,
      platform,
      this.nextGeneration(),
      wire,
      options.expiresAtMs,
      // A new long-poll place starts at "now", so its position can be saved before it has delivered anything.
      options.lastMsgId ??
        (wire.protocol === 'poll' ? formatMsgId({ timeMs: Date.now(), seq: 0, node: 0 }) : null),
    );
    const older = entry.connections.get(platform);
    entry.connections.set(platform, conn);
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
      await entry.loaded;
      if (options.lastMsgId !== null && !conn.closed) await this.replay(conn, options.lastMsgId);
    } catch (err) {
      this.drop(conn);
      throw err;
    }
    conn.starting = false;
    this.flush(conn);
    return conn;
  }

  /** The wire can take more: writes what is queued. */
  drained(conn: Connection): void {
    this.flush(conn);
  }

  /** The peer went away: forgets the connection without writing to it. */
  detach(conn: Connection): void {
    this.drop(conn);
  }

  /** Ends a connection with a reason the client is told in its protocol's form. */
  close(conn: Connection, reason: CloseReason): void {
    if (conn.closed) return;
    this.drop(conn);
    if (reason === CloseReason.Replaced) this.metrics.replaced();
    conn.wire.close(reason);
  }

  /** Ends every connection (shutdown) and stops listening to the bus. */
  /**
   * Where this (session, platform)'s long-poll stood when any node last answered it within
   * `keepMs`, or null: a poll landing on a node without its place continues from there.
   */
  savedPollCursor(session: string, platform: number, keepMs: number): Promise<string | null> {
    return this.o.store.pollCursor(session, platform, this.o.clock.now() - keepMs);
  }

  /** Saves a long-poll place's position after an answer, for whichever node gets the next poll. */
  async savePollCursor(conn: Connection): Promise<void> {
    if (conn.lastSentId === null) return;
    await this.o.store.savePollCursor(
      conn.session,
      conn.platform,
      conn.lastSentId,
      this.o.clock.now(),
    );
  }

  /** Live delivery is interrupted: closes every connection and refuses new ones until `resume`. */
  suspend(): void {
    this.suspended = true;
    for (const entry of [...this.sessions.values()]) {
      for (const conn of [...entry.connections.values()]) this.close(conn, CloseReason.Unavailable);
    }
  }

  resume(): void {
    this.suspended = false;
  }

  closeAll(reason: CloseReason): void {
    this.unsubscribe();
    for (const entry of [...this.sessions.values()]) {
      for (const conn of [...entry.connections.values()]) this.close(conn, reason);
    }
  }

  /** Runs every connection's timers against the injected clock: heartbeats, expiry, poll deadlines. */
  tick(): void {
    const now = this.o.clock.now();
    for (const entry of [...this.sessions.values()]) {
      for (const conn of [...entry.connections.values()]) {
        if (conn.expiresAtMs <= now) this.close(conn, CloseReason.Expired);
        else if (!conn.wire.tick(now)) this.close(conn, CloseReason.HeartbeatTimeout);
      }
    }
  }

  /**
   * Empties the queue of a long-poll place that overflowed: the next poll replays from the
   * store after the last id handed out, so nothing is lost.
   */
  async refill(conn: Connection): Promise<void> {
    if (!conn.overflowed || conn.lastSentId === null) return;
    conn.overflowed = false;
    conn.starting = true;
    this.clearQueue(conn);
    try {
      await this.replay(conn, conn.lastSentId);
    } finally {
      conn.starting = false;
    }
  }

  private entryFor(session: string): SessionEntry {
    const existing = this.sessions.get(session);
    if (existing) return existing;
    const entry: SessionEntry = {
      session,
      connections: new Map(),
      conversations: null,
      pending: [],
      loaded: Promise.resolve(),
    };
    this.sessions.set(session, entry);
    entry.loaded = this.o.store.joinedConversations(session).then(
      (ids) => this.loaded(entry, ids),
      (err: unknown) => {
        if (this.sessions.get(session) === entry) this.sessions.delete(session);
        throw err;
      },
    );
    return entry;
  }

  private loaded(entry: SessionEntry, ids: readonly string[]): void {
    entry.conversations = new Set(ids);
    if (this.sessions.get(entry.session) !== entry) return;
    for (const id of ids) this.join(entry, id);
    for (const event of entry.pending) this.applyMembership(entry, event);
    entry.pending = [];
  }

  private join(entry: SessionEntry, conversationId: string): void {
    entry.conversations?.add(conversationId);
    let room = this.rooms.get(conversationId);
    if (!room) {
      room = new Room(
        conversationId,
        (r, afterId, upToId) => void this.fillGap(r, afterId, upToId),
      );
      this.rooms.set(conversationId, room);
    }
    room.members.add(entry);
  }

  private leave(entry: SessionEntry, conversationId: string): void {
    entry.conversations?.delete(conversationId);
    const room = this.rooms.get(conversationId);
    if (!room) return;
    room.members.delete(entry);
    if (room.members.size > 0) return;
    room.dispose();
    this.rooms.delete(conversationId);
  }

  private drop(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.clearQueue(conn);
    this.metrics.connectionClosed(conn.wire.protocol);
    const entry = this.sessions.get(conn.session);
    if (!entry || entry.connections.get(conn.platform) !== conn) return;
    entry.connections.delete(conn.platform);
    if (entry.connections.size > 0) return;
    this.sessions.delete(conn.session);
    for (const id of entry.conversations ?? []) this.leave(entry, id);
  }

  private async replay(conn: Connection, afterId: string): Promise<void> {
    const missed = await this.o.store.missedMessages(conn.session, afterId, this.o.replayLimit);
    if (conn.closed) return;
    const replayed = new Set<string>();
    const frames: Frame[] = [];
    let replayedBytes = 0;
    const upTo = new Map<string, string>();
    for (const m of missed) {
      replayed.add(m.MsgId);
      upTo.set(m.ConversationID, m.MsgId);
      const frame = new Frame(m.MsgId, m.ConversationID, serializeMessage(m));
      frames.push(frame);
      replayedBytes += frame.size;
    }
    let liveBytes = 0;
    for (const f of conn.queue) {
      if (replayed.has(f.msgId)) continue;
      frames.push(f);
      liveBytes += f.size;
    }
    conn.queue = frames;
    conn.queuedBytes = replayedBytes + liveBytes;
    conn.replayedFrames = missed.length;
    conn.replayedUpTo = upTo.size > 0 ? upTo : null;
    conn.replayedBytes = replayedBytes;
    this.metrics.replayed(missed.length);
  }

  private clearQueue(conn: Connection): void {
    conn.queue = [];
    conn.queuedBytes = 0;
    conn.replayedFrames = 0;
    conn.replayedBytes = 0;
  }

  private flush(conn: Connection): void {
    if (conn.starting || conn.closed) return;
    let cap: number;
    while (conn.queue.length > 0 && (cap = conn.wire.capacity()) > 0) {
      const batch = cap >= conn.queue.length ? conn.queue : conn.queue.slice(0, cap);
      conn.queue = batch === conn.queue ? [] : conn.queue.slice(cap);
      for (const f of batch) {
        conn.queuedBytes -= f.size;
        if (conn.replayedFrames > 0) {
          conn.replayedFrames--;
          conn.replayedBytes -= f.size;
        }
      }
      this.send(conn, batch);
      if (conn.closed) return;
    }
  }

  private send(conn: Connection, frames: readonly Frame[]): void {
    conn.lastSentId = (frames[frames.length - 1] as Frame).msgId;
    this.metrics.delivered(frames.length);
    conn.wire.write(frames);
  }

  private deliver(conn: Connection, frame: Frame): void {
    if (conn.closed || conn.overflowed) return;
    const replayedUpTo = conn.replayedUpTo;
    if (replayedUpTo !== null) {
      const upTo = replayedUpTo.get(frame.conversationId);
      if (upTo !== undefined) {
        if (frame.msgId <= upTo) return;
        replayedUpTo.delete(frame.conversationId);
        if (replayedUpTo.size === 0) conn.replayedUpTo = null;
      }
    }
    if (!conn.starting && conn.queue.length === 0 && conn.wire.capacity() > 0) {
      this.send(conn, [frame]);
      return;
    }
    if (conn.overflowed) return;
    // The replay ahead of the live frames does not count: a client catching up is not slow.
    if (
      conn.queue.length - conn.replayedFrames >= this.o.queueMaxMessages ||
      conn.queuedBytes - conn.replayedBytes + frame.size > this.o.queueMaxBytes
    ) {
      this.overflow(conn, frame);
      return;
    }
    conn.queue.push(frame);
    conn.queuedBytes += frame.size;
  }

  private overflow(conn: Connection, frame: Frame): void {
    this.metrics.dropped();
    if (conn.wire.protocol === 'poll' && !conn.starting) {
      // A poll place keeps its cursor and refills from the store at the next poll.
      conn.lastSentId ??= msgIdBefore((conn.queue[0] ?? frame).msgId);
      this.clearQueue(conn);
      conn.overflowed = true;
      return;
    }
    this.close(conn, CloseReason.Slow);
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
      }
    } catch (err) {
      this.o.logger.error({ err }, 'hub failed to handle a bus event');
    }
  }

  private onMessage(event: MessageEvent): void {
    const room = this.rooms.get(event.conversationId);
    if (!room) return;
    for (const e of room.admit(event)) this.deliverToRoom(room, e);
  }

  private deliverToRoom(room: Room<SessionEntry>, event: MessageEvent): void {
    const frame = new Frame(event.msgId, event.conversationId, event.frame);
    for (const entry of room.members) {
      for (const conn of entry.connections.values()) this.deliver(conn, frame);
    }
  }

  /** A message the bus has not brought in time: read the gap from the store, then go on in order. */
  private async fillGap(room: Room<SessionEntry>, afterId: string, upToId: string): Promise<void> {
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
    if (this.rooms.get(room.conversationId) !== room) return;
    for (const e of room.fill(stored)) this.deliverToRoom(room, e);
  }

  private onMembership(event: MembershipEvent): void {
    for (const session of event.sessions) {
      const entry = this.sessions.get(session);
      if (!entry) continue;
      if (entry.conversations === null) entry.pending.push(event);
      else this.applyMembership(entry, event);
    }
  }

  private applyMembership(entry: SessionEntry, event: MembershipEvent): void {
    if (event.change === 'joined') this.join(entry, event.conversationId);
    else this.leave(entry, event.conversationId);
  }

  private onConnected(event: ConnectedEvent): void {
    const conn = this.find(event.session, event.platform);
    if (conn && conn.generation < event.generation) this.close(conn, CloseReason.Replaced);
  }

  /** Strictly increasing on this node; the node id breaks ties between nodes. */
  private nextGeneration(): string {
    const t = Math.max(Date.now(), this.lastGenerationTime);
    if (t !== this.lastGenerationTime) this.generationCounter = 0;
    this.lastGenerationTime = t;
    const n = this.generationCounter++;
    return `${t.toString(36).padStart(9, '0')}.${n.toString(36).padStart(6, '0')}.${this.o.nodeId}`;
  }
}
