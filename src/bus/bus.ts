/** A new message, serialized once; `frame` is the `MsgData` JSON every recipient receives. */
export interface MessageEvent {
  readonly type: 'message';
  readonly conversationId: string;
  readonly msgId: string;
  /** The message just before this one in its conversation: lets a node spot a reordering. */
  readonly prevMsgId: string | null;
  readonly frame: string;
}

/** Sessions became (`joined`) or stopped being (`left`: leave or kick) members. */
export interface MembershipEvent {
  readonly type: 'membership';
  readonly conversationId: string;
  readonly sessions: readonly string[];
  readonly change: 'joined' | 'left';
}

/** A (session, platform) connected on `nodeId`; older connections elsewhere must close. */
export interface ConnectedEvent {
  readonly type: 'connected';
  readonly session: string;
  readonly platform: number;
  /** Fencing token: the newest connection has the greatest value; older ones yield to it. */
  readonly generation: string;
  readonly nodeId: string;
}

/** `session`'s read cursor in a conversation advanced (`/mark_read`); a live hint for `events=1`. */
export interface ReadEvent {
  readonly type: 'read';
  readonly conversationId: string;
  readonly session: string;
  readonly readMsgId: string;
}

export type BusEvent = MessageEvent | MembershipEvent | ConnectedEvent | ReadEvent;

export type BusHandler = (event: BusEvent) => void;

/**
 * Notifies every node, this one included, of events. It may drop an event while it is
 * down: recovery always reads the store, never the bus.
 */
export interface Bus {
  /**
   * Resolves once the bus has taken the event: every node then sees it before any event
   * published after the promise resolved. Rejects with `UnavailableError` when down.
   */
  publish(event: BusEvent): Promise<void>;

  /** Calls `handler` for every event published by any node, in publish order per publisher. */
  subscribe(handler: BusHandler): () => void;

  /** Resolves while the bus can carry events. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
