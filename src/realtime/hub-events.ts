import type { FastifyBaseLogger } from 'fastify';
import type {
  Bus,
  BusEvent,
  ConnectedEvent,
  MembershipEvent,
  MessageEvent,
  RevokedEvent,
} from '../bus/bus.js';
import { serializeMessage } from '../domain/message.js';
import type { Store } from '../store/store.js';
import { CloseReason } from './close-reasons.js';
import type { Connection } from './connection.js';
import { membershipFrame, readFrame } from './event-frames.js';
import { Frame } from './frame.js';
import type { ReplayStore } from './replay-cursor.js';
import type { Room } from './room.js';
import type { SessionEntry, SessionIndex } from './session-index.js';

/**
 * The store reads the Hub makes: memberships, resume replays, where a new room starts and gaps
 * in a room's order.
 */
export type HubStore = Pick<Store, 'joinedConversations' | 'lastMsgId' | 'messagesAfter'> &
  ReplayStore;

export interface HubEventsOptions {
  readonly store: HubStore;
  readonly bus: Bus;
  readonly logger: FastifyBaseLogger;
  /** Most messages one store read brings to start a room or fill a gap. */
  readonly replayLimit: number;
}

/** How a frame reaches one of the Hub's connections, and how the Hub ends one. */
export interface HubConnections {
  /** Offers `frame` to `conn`; true when it was written at once (not queued or dropped). */
  deliver(conn: Connection, frame: Frame): boolean;
  /** Counts `count` frames written by `deliver` (once per frame's fan-out, not per socket). */
  delivered(count: number): void;
  close(conn: Connection, reason: CloseReason): void;
}

/**
 * The Hub's side of the bus: routes each event to this node's connections through the rooms
 * of `index`, and keeps each room's interest in its conversation (a room follows it from its
 * start until it goes), so this node hears the messages of the conversations it has members of
 * and no others.
 */
export class HubEvents {
  constructor(
    private readonly o: HubEventsOptions,
    private readonly index: SessionIndex,
    private readonly connections: HubConnections,
  ) {}

  handle(event: BusEvent): void {
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

  /**
   * Follows a new room's conversation; resolves once its messages come by the bus (or the bus
   * could not say so: it is down, and the Hub suspended). Then the room starts: from the
   * position its join event carried (`joinedAfter`), reading from the store whatever was sent
   * since, which the bus brought before the follow took effect; or, for a room of sessions
   * that connected (undefined), from the conversation's newest MsgId read now. Never rejects.
   */
  startRoom(room: Room<SessionEntry>, joinedAfter: string | null | undefined): Promise<void> {
    const id = room.conversationId;
    const followed = this.o.bus.follow(id).catch((err: unknown) => {
      this.o.logger.warn({ err: (err as Error).message, conversationId: id }, 'follow failed');
    });
    void followed.then(() =>
      joinedAfter === undefined ? this.startAtNewest(room) : this.catchUp(room, joinedAfter),
    );
    return followed;
  }

  /** The room's last member here left: its conversation's messages need not come here. */
  roomGone(room: Room<SessionEntry>): void {
    this.o.bus.unfollow(room.conversationId);
  }

  /** A message the bus has not brought in time: read the gap from the store, then go on in order. */
  async fillGap(room: Room<SessionEntry>, afterId: string | null, upToId: string): Promise<void> {
    let stored: MessageEvent[] = [];
    try {
      stored = (await this.storedAfter(room.conversationId, afterId)).filter(
        (m) => m.msgId <= upToId,
      );
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not fill a message gap');
    }
    if (this.index.room(room.conversationId) !== room) return;
    for (const e of room.fill(stored)) this.deliverToRoom(room, e);
  }

  /**
   * The first message is checked against the conversation's newest MsgId, read once the room
   * hears the conversation: one the bus loses after that is found like any other gap. If the
   * read fails, the first message is not checked.
   */
  private async startAtNewest(room: Room<SessionEntry>): Promise<void> {
    let since: string | null | undefined;
    try {
      since = await this.o.store.lastMsgId(room.conversationId);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not read where a room starts');
    }
    if (this.index.room(room.conversationId) !== room) return;
    for (const e of room.start(since)) this.deliverToRoom(room, e);
  }

  /**
   * Starts at the join's position, then admits what the store has after it as if the bus had
   * brought it (each naming the one before), so it merges in order with what the bus did bring
   * meanwhile. If the read fails, a later message's gap wait reads them again.
   */
  private async catchUp(room: Room<SessionEntry>, since: string | null): Promise<void> {
    let stored: MessageEvent[] = [];
    try {
      stored = await this.storedAfter(room.conversationId, since);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not read a joined room');
    }
    if (this.index.room(room.conversationId) !== room) return;
    for (const e of room.start(since)) this.deliverToRoom(room, e);
    let prevMsgId = since;
    for (const e of stored) {
      for (const d of room.admit({ ...e, prevMsgId })) this.deliverToRoom(room, d);
      prevMsgId = e.msgId;
    }
  }

  /** The store's messages after `afterId` (null: from the first), ascending, as bus events. */
  private async storedAfter(
    conversationId: string,
    afterId: string | null,
  ): Promise<MessageEvent[]> {
    const missed = await this.o.store.messagesAfter(conversationId, afterId, this.o.replayLimit);
    return missed.map((m) => ({
      type: 'message',
      conversationId: m.ConversationID,
      msgId: m.MsgId,
      prevMsgId: null,
      frame: serializeMessage(m),
    }));
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
    let written = 0;
    for (const entry of room.members) {
      for (const conn of entry.connections.values())
        if (conn.wantsEvents && this.connections.deliver(conn, frame)) written++;
    }
    this.connections.delivered(written);
  }

  /** Closes the connections opened with a token the revocation names. */
  private onRevoked(event: RevokedEvent): void {
    for (const conn of this.index.connectionsOf(event.session)) {
      if (event.platform !== null && conn.platform !== event.platform) continue;
      if (conn.issuedAtSec <= event.revokedBefore)
        this.connections.close(conn, CloseReason.Revoked);
    }
  }

  /** One frame, serialized once, for every member's connections on this node. */
  private deliverToRoom(room: Room<SessionEntry>, event: MessageEvent): void {
    const frame = new Frame(event.msgId, event.conversationId, event.frame);
    let written = 0;
    for (const entry of room.members) {
      for (const conn of entry.connections.values())
        if (this.connections.deliver(conn, frame)) written++;
    }
    this.connections.delivered(written);
  }

  private onConnected(event: ConnectedEvent): void {
    const conn = this.index.find(event.session, event.platform);
    if (conn && conn.generation < event.generation)
      this.connections.close(conn, CloseReason.Replaced);
  }
}
