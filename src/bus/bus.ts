/** A new message, serialized once; `frame` is the `MsgData` JSON every recipient receives. */
export interface MessageEvent {
  readonly type: 'message';
  readonly conversationId: string;
  readonly msgId: string;
  /** The message just before this one in its conversation: lets a node spot a reordering. */
  readonly prevMsgId: string | null;
  readonly frame: string;
}

/**
 * Sessions became (`joined`) or stopped being (`left`, or `kicked` by the backend) members.
 * `sessions` names every session the operation was about, so a retry of an operation already
 * stored announces it again; `changed` only those whose membership it actually changed (what
 * the `joined` / `left` push events name; empty: no push event).
 */
export interface MembershipEvent {
  readonly type: 'membership';
  readonly conversationId: string;
  readonly sessions: readonly string[];
  readonly changed: readonly string[];
  readonly change: 'joined' | 'left' | 'kicked';
  /**
   * `joined` only: a MsgId of the conversation no newer than its newest when the join was
   * stored (null: it had none then). A node that starts following the conversation for the
   * joined sessions reads the messages after it from the store, so none sent after the join
   * is missed while its interest takes effect. Absent from older nodes' events.
   */
  readonly lastMsgId?: string | null;
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

/**
 * The (session, platform) `nodeId` held stopped being held there (closed, replaced on that
 * node by nothing, or gone quiet). The `connected` event is its counterpart for presence.
 */
export interface DisconnectedEvent {
  readonly type: 'disconnected';
  readonly session: string;
  readonly platform: number;
  readonly nodeId: string;
}

/**
 * Every (session, platform) connected on `nodeId`, as `[session, platforms]` pairs: replaces
 * what other nodes knew of that node, and keeps it alive there for `ttlMs` after it arrives.
 * Sent every few seconds and split in `part`s of at most a few thousand sessions; a node's
 * parts go out back to back, `last` on the final one.
 */
export interface PresenceEvent {
  readonly type: 'presence';
  readonly nodeId: string;
  readonly ttlMs: number;
  readonly part: number;
  readonly last: boolean;
  readonly sessions: readonly (readonly [string, readonly number[]])[];
}

/**
 * Tokens of `session` (of one `platform`, or all when null) issued at or before
 * `revokedBefore` (Unix seconds) are refused from now on, and their connections closed.
 */
export interface RevokedEvent {
  readonly type: 'revoked';
  readonly session: string;
  readonly platform: number | null;
  readonly revokedBefore: number;
}

export type BusEvent =
  | MessageEvent
  | MembershipEvent
  | ConnectedEvent
  | ReadEvent
  | DisconnectedEvent
  | PresenceEvent
  | RevokedEvent;

export type BusHandler = (event: BusEvent) => void;

/**
 * Notifies nodes of events. Session-wide events (`connected`, `disconnected`, `presence`,
 * `revoked`) and `membership` reach every node; a conversation's `message` and `read` events
 * reach only the nodes that `follow` it, and the publisher itself. It may drop an event while
 * it is down: recovery always reads the store, never the bus.
 */
export interface Bus {
  /**
   * Resolves once the bus has taken the event, after this node's handlers have seen it: every
   * node that hears it then sees it before any event published (by any node) after the promise
   * resolved. Rejects with `UnavailableError` when down (this node's handlers are then not
   * called) or when the bus does not confirm in time.
   */
  publish(event: BusEvent): Promise<void>;

  /**
   * Calls `handler` for the events this node hears: every global event, the `message` and
   * `read` events of followed conversations, and its own; in publish order per publisher.
   */
  subscribe(handler: BusHandler): () => void;

  /**
   * Starts hearing `conversationId`'s events. Resolves once that is in effect: every event of
   * it another node publishes after that reaches this node. Counted: each call needs its own
   * `unfollow`. Rejects with `UnavailableError` when the bus cannot confirm it (down, or not in
   * time); the interest stays, and takes effect when the bus is back.
   */
  follow(conversationId: string): Promise<void>;

  /** Drops one `follow` of `conversationId`; with the last one its events stop coming. */
  unfollow(conversationId: string): void;

  /** Resolves while the bus can carry events. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
