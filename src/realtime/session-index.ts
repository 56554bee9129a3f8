import type { MembershipEvent } from '../bus/bus.js';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../store/store.js';
import type { Connection } from './connection.js';
import { Room } from './room.js';
import type { GapHandler } from './room.js';

/** One session's connections on this node, one per platform, and its conversations. */
export interface SessionEntry {
  readonly session: string;
  readonly connections: ReadonlyMap<number, Connection>;
}

interface Entry extends SessionEntry {
  readonly connections: Map<number, Connection>;
  /** Conversations the session is a current member of; null while loading. */
  conversations: Set<string> | null;
  /** Membership events that arrived while loading, applied in order once loaded. */
  pending: MembershipEvent[];
  loaded: Promise<void>;
}

/** The store reads the index needs: the conversations a session is in when it first connects. */
export type MembershipSource = Pick<Store, 'joinedConversations'>;

/** What the index's owner does as rooms come and go. */
export interface RoomLifecycle {
  /** A room's gap has stayed open too long; see `Room`. */
  readonly gap: GapHandler<SessionEntry>;
  /**
   * A new room, which waits for its `start`. `joinedAfter`: the `lastMsgId` of the join event
   * that created it (undefined: created for a connecting session, or the event had none).
   * Resolves once the room hears its conversation's messages; never rejects.
   */
  created(room: Room<SessionEntry>, joinedAfter: string | null | undefined): Promise<void>;
  /** The room's last member here is gone, and the room with it. */
  disposed(room: Room<SessionEntry>): void;
}

/**
 * This node's connections by session and platform, and a Room per conversation holding its
 * members that are connected here. A session's memberships are loaded from the store when its
 * first connection arrives and kept current by membership events.
 */
export class SessionIndex {
  private readonly sessions = new Map<string, Entry>();
  private readonly rooms = new Map<string, Room<SessionEntry>>();
  /** Each room's `created` promise, by conversation. */
  private readonly hearing = new Map<string, Promise<void>>();
  private count = 0;

  constructor(
    private readonly store: MembershipSource,
    private readonly clock: Clock,
    private readonly lifecycle: RoomLifecycle,
  ) {}

  /** Number of connections held. */
  get size(): number {
    return this.count;
  }

  find(session: string, platform: number): Connection | undefined {
    return this.sessions.get(session)?.connections.get(platform);
  }

  /** The connections of `session`, as a snapshot safe to close while iterating. */
  connectionsOf(session: string): Connection[] {
    return [...(this.sessions.get(session)?.connections.values() ?? [])];
  }

  /** The platforms `session` is connected on here, ascending; empty when none. */
  platformsOf(session: string): number[] {
    const connections = this.sessions.get(session)?.connections;
    return connections === undefined ? [] : [...connections.keys()].sort((a, b) => a - b);
  }

  /** Every session connected here with its platforms (ascending). */
  *presence(): Generator<[string, number[]]> {
    for (const [session, e] of this.sessions) {
      yield [session, [...e.connections.keys()].sort((a, b) => a - b)];
    }
  }

  /** Every connection held, as a snapshot safe to close while iterating. */
  all(): Connection[] {
    const out: Connection[] = [];
    for (const e of this.sessions.values()) for (const c of e.connections.values()) out.push(c);
    return out;
  }

  /** The room of a conversation with at least one member connected here. */
  room(conversationId: string): Room<SessionEntry> | undefined {
    return this.rooms.get(conversationId);
  }

  /**
   * Makes `conn` the holder of its (session, platform). Returns the connection it displaced, if
   * any (still open: the caller closes it), and when the session's memberships are loaded and
   * its rooms hear their conversations (a message stored after that reaches them by the bus);
   * that promise rejects if the store fails, and the session is then forgotten.
   */
  add(conn: Connection): { older: Connection | undefined; loaded: Promise<void> } {
    const entry = this.entryFor(conn.session);
    const older = entry.connections.get(conn.platform);
    entry.connections.set(conn.platform, conn);
    if (older === undefined) this.count++;
    return { older, loaded: entry.loaded };
  }

  /**
   * Forgets `conn` if it still holds its place (true then: its (session, platform) is no longer
   * connected here); the session's rooms go with its last connection.
   */
  remove(conn: Connection): boolean {
    const entry = this.sessions.get(conn.session);
    if (!entry || entry.connections.get(conn.platform) !== conn) return false;
    entry.connections.delete(conn.platform);
    this.count--;
    if (entry.connections.size > 0) return true;
    this.sessions.delete(conn.session);
    for (const id of entry.conversations ?? []) this.leave(entry, id);
    return true;
  }

  /** A member joined or left: rooms follow, for sessions connected here. */
  applyMembership(event: MembershipEvent): void {
    for (const session of event.sessions) {
      const entry = this.sessions.get(session);
      if (!entry) continue;
      if (entry.conversations === null) entry.pending.push(event);
      else this.apply(entry, event);
    }
  }

  private entryFor(session: string): Entry {
    const existing = this.sessions.get(session);
    if (existing) return existing;
    const entry: Entry = {
      session,
      connections: new Map(),
      conversations: null,
      pending: [],
      loaded: Promise.resolve(),
    };
    this.sessions.set(session, entry);
    entry.loaded = this.store.joinedConversations(session).then(
      (ids) => this.loaded(entry, ids),
      (err: unknown) => {
        if (this.sessions.get(session) === entry) {
          this.sessions.delete(session);
          this.count -= entry.connections.size;
        }
        throw err;
      },
    );
    return entry;
  }

  private async loaded(entry: Entry, ids: readonly string[]): Promise<void> {
    entry.conversations = new Set(ids);
    if (this.sessions.get(entry.session) !== entry) return;
    const hearing = ids.map((id) => this.join(entry, id, undefined));
    for (const event of entry.pending) this.apply(entry, event);
    entry.pending = [];
    await Promise.all(hearing);
  }

  private apply(entry: Entry, event: MembershipEvent): void {
    if (event.change === 'joined') void this.join(entry, event.conversationId, event.lastMsgId);
    else this.leave(entry, event.conversationId);
  }

  /** Resolves once the conversation's room hears its messages. */
  private join(
    entry: Entry,
    conversationId: string,
    joinedAfter: string | null | undefined,
  ): Promise<void> {
    entry.conversations?.add(conversationId);
    let room = this.rooms.get(conversationId);
    let hearing = this.hearing.get(conversationId);
    if (!room || !hearing) {
      room = new Room<SessionEntry>(conversationId, this.clock, this.lifecycle.gap);
      this.rooms.set(conversationId, room);
      hearing = this.lifecycle.created(room, joinedAfter);
      this.hearing.set(conversationId, hearing);
    }
    room.members.add(entry);
    return hearing;
  }

  private leave(entry: Entry, conversationId: string): void {
    entry.conversations?.delete(conversationId);
    const room = this.rooms.get(conversationId);
    if (!room) return;
    room.members.delete(entry);
    if (room.members.size > 0) return;
    room.dispose();
    this.rooms.delete(conversationId);
    this.hearing.delete(conversationId);
    this.lifecycle.disposed(room);
  }
}
