import type { MessageEvent } from '../bus/bus.js';
import type { Clock, Timer } from '../domain/clock.js';

/** How long a message waits for an earlier one the bus has not brought yet, before the store fills the gap. */
export const GAP_WAIT_MS = 1000;

/**
 * Called once when a room's gap has stayed open for `GAP_WAIT_MS`: the store's messages after
 * `afterId` (null: from the first) up to `upToId` fill it.
 */
export type GapHandler<M> = (room: Room<M>, afterId: string | null, upToId: string) => void;

/**
 * One conversation's local members, and the order of its messages on this node. Each message
 * names the one before it (`prevMsgId`), so a message that overtook an earlier one on the bus
 * (two nodes sending at once) waits for it: every member receives the conversation in MsgId
 * order, each message once. The first message the room sees is checked too, against the
 * conversation's newest MsgId when the room was created (`start`): a predecessor above that was
 * sent since, and if the bus lost it, it is read from the store like any other gap.
 */
export class Room<M> {
  readonly members = new Set<M>();
  /** The newest MsgId handed to members; undefined until the first message. */
  private lastId: string | undefined;
  /** Messages waiting for their predecessor, by `prevMsgId`. */
  private held: Map<string, MessageEvent> | null = null;
  private gapTimer: Timer | null = null;
  /**
   * The conversation's newest MsgId when the room was created (null: it had none); undefined
   * when unknown (the store failed), and then the first message is not checked.
   */
  private since: string | null | undefined;
  /** Messages that arrived before `start`, in arrival order; null once started. */
  private waiting: MessageEvent[] | null = [];

  constructor(
    readonly conversationId: string,
    /** Times the gap wait. */
    private readonly clock: Clock,
    private readonly onGap: GapHandler<M>,
  ) {}

  /**
   * The conversation's newest MsgId as read from the store once the room existed (null: none;
   * undefined: the read failed). Returns the messages that waited for it and are deliverable
   * now, in order.
   */
  start(since: string | null | undefined): MessageEvent[] {
    const waiting = this.waiting ?? [];
    this.since = since;
    this.waiting = null;
    const out: MessageEvent[] = [];
    for (const e of waiting.sort((a, b) => (a.msgId < b.msgId ? -1 : 1))) {
      out.push(...this.admit(e));
    }
    return out;
  }

  /** Returns the messages deliverable now, in order: `event`, then any it unblocked. */
  admit(event: MessageEvent): MessageEvent[] {
    if (this.waiting) {
      this.waiting.push(event);
      return [];
    }
    const last = this.lastId;
    if (last !== undefined && event.msgId <= last) return [];
    const after = last ?? this.since;
    if (
      event.prevMsgId !== null &&
      after !== undefined &&
      (after === null || event.prevMsgId > after)
    ) {
      (this.held ??= new Map()).set(event.prevMsgId, event);
      this.gapTimer ??= this.clock.setTimeout(() => this.gapExpired(), GAP_WAIT_MS);
      return [];
    }
    this.lastId = event.msgId;
    const out = [event];
    this.release(out);
    return out;
  }

  /**
   * The store's messages after the gap, ascending, covering every held one: returns what is
   * now deliverable, in order.
   */
  fill(stored: readonly MessageEvent[]): MessageEvent[] {
    const out: MessageEvent[] = [];
    for (const e of stored) {
      if (this.lastId !== undefined && e.msgId <= this.lastId) continue;
      this.lastId = e.msgId;
      out.push(e);
    }
    if (this.held && this.lastId !== undefined) {
      for (const [prev, e] of this.held) if (e.msgId <= this.lastId) this.held.delete(prev);
    }
    this.release(out);
    // Whatever is still held (store behind the bus, or failed) goes out in order rather than wait forever.
    if (this.held && this.held.size > 0) {
      const rest = [...this.held.values()].sort((a, b) => (a.msgId < b.msgId ? -1 : 1));
      this.held = null;
      for (const e of rest) {
        this.lastId = e.msgId;
        out.push(e);
      }
    }
    this.clearTimer();
    return out;
  }

  dispose(): void {
    this.clearTimer();
    this.held = null;
    this.waiting = null;
  }

  private release(out: MessageEvent[]): void {
    const held = this.held;
    if (!held) return;
    for (let next = held.get(this.lastId as string); next; next = held.get(this.lastId as string)) {
      held.delete(this.lastId as string);
      this.lastId = next.msgId;
      out.push(next);
    }
    if (held.size === 0) {
      this.held = null;
      this.clearTimer();
    }
  }

  private gapExpired(): void {
    this.gapTimer = null;
    if (!this.held || this.held.size === 0) return;
    let upTo = '';
    for (const e of this.held.values()) if (e.msgId > upTo) upTo = e.msgId;
    this.onGap(this, this.lastId ?? this.since ?? null, upTo);
  }

  private clearTimer(): void {
    if (this.gapTimer) this.clock.clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }
}
