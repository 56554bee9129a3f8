import { randomUUID } from 'node:crypto';
import { MAX_CONVERSATION_TYPE, MIN_CONVERSATION_TYPE } from '../domain/conversation.js';
import type { ConversationDetail } from '../domain/conversation.js';
import { ErrorCode, ImError, RateLimitedError, UnavailableError } from '../domain/errors.js';
import type { Bus, MembershipEvent } from '../bus/bus.js';
import {
  conversationCreated,
  conversationJoined,
  conversationLeft,
} from '../domain/webhook-event.js';
import type { ConversationStore, MessageStore } from '../store/store.js';
import type { MembershipEventOf } from '../store/webhook-outbox.js';
import type { RateLimiter } from './rate-limiter.js';
import type { WebhookEvents } from './webhook-events.js';

/** Throws 90010 unless `type` is an integer in 0..15. */
export function assertConversationType(type: number): void {
  if (!Number.isInteger(type) || type < MIN_CONVERSATION_TYPE || type > MAX_CONVERSATION_TYPE) {
    throw new ImError(ErrorCode.BadConversationType);
  }
}

/** Membership and conversation rules; knows nothing of HTTP. */
export class ConversationService {
  constructor(
    private readonly store: ConversationStore & Pick<MessageStore, 'lastMsgId'>,
    private readonly bus: Bus,
    private readonly onBusError: (err: unknown) => void,
    /** Creates and joins a session makes itself (`--join-rate`); inner calls are not counted. */
    private readonly joinLimiter?: RateLimiter,
    /**
     * Given a change the bus did not take, so that this node at least follows it: a kicked
     * session must not keep receiving here.
     */
    private readonly applyHere: (event: MembershipEvent) => void = () => {},
    /** Webhooks on: each change writes its event to the outbox in its transaction. */
    private readonly webhooks?: WebhookEvents,
  ) {}

  /** The event builder of a membership change, or undefined when webhooks are off. */
  private eventOf(
    build: (changed: readonly string[], atMs: number) => ReturnType<MembershipEventOf>,
  ): MembershipEventOf | undefined {
    const webhooks = this.webhooks;
    if (!webhooks) return undefined;
    return (changed) => build(changed, webhooks.now());
  }

  /** Tells the delivery worker when a change wrote an event. */
  private written(changed: boolean): void {
    if (changed) this.webhooks?.written();
  }

  /** Throws 10006 when `session` is over its create + join rate; nothing is stored then. */
  private admitJoin(session: string): void {
    const retryAfter = this.joinLimiter?.take(session) ?? 0;
    if (retryAfter > 0) throw new RateLimitedError(retryAfter);
  }

  /** Throws 10005 when the conversation does not exist, 10004 when `session` is not a current member. */
  async requireMember(conversationId: string, session: string): Promise<void> {
    const member = await this.store.isMember(conversationId, session);
    if (member === undefined) throw new ImError(ErrorCode.ConversationNotFound);
    if (!member) throw new ImError(ErrorCode.NotMember);
  }

  /**
   * Creates a conversation; `creator` (when given) and `sessions` become its members. A
   * creator's create counts against its join rate.
   */
  async create(
    creator: string | undefined,
    type: number,
    sessions: readonly string[],
  ): Promise<string> {
    assertConversationType(type);
    const members = [...new Set(creator === undefined ? sessions : [creator, ...sessions])];
    if (members.length === 0) throw new ImError(ErrorCode.NoMembers);
    if (creator !== undefined) this.admitJoin(creator);
    const id = randomUUID();
    const event = this.webhooks && conversationCreated(id, type, members, this.webhooks.now());
    await this.store.createConversation(id, type, members, event);
    this.written(true);
    await this.announce(id, members, members, 'joined', null);
    return id;
  }

  async isJoined(conversationId: string, session: string): Promise<boolean> {
    return (await this.store.isMember(conversationId, session)) === true;
  }

  joined(session: string): Promise<string[]> {
    return this.store.joinedConversations(session);
  }

  async detail(conversationId: string, session: string): Promise<ConversationDetail> {
    await this.requireMember(conversationId, session);
    const detail = await this.store.getConversation(conversationId);
    if (!detail) throw new ImError(ErrorCode.ConversationNotFound);
    return detail;
  }

  /** Idempotent; a kicked session gets 10004 until an inner join. */
  async join(conversationId: string, session: string): Promise<void> {
    this.admitJoin(session);
    const lastMsgId = await this.store.lastMsgId(conversationId);
    const result = await this.store.joinBySelf(
      conversationId,
      session,
      this.eventOf((changed, atMs) => conversationJoined(conversationId, changed, atMs)),
    );
    this.written(result === 'joined');
    if (result === 'not-found') throw new ImError(ErrorCode.ConversationNotFound);
    if (result === 'kicked')
      throw new ImError(ErrorCode.NotMember, 'removed from the conversation');
    const changed = result === 'joined' ? [session] : [];
    await this.announce(conversationId, [session], changed, 'joined', lastMsgId);
  }

  async leave(conversationId: string, session: string): Promise<void> {
    const left = await this.store.leave(
      conversationId,
      session,
      this.eventOf((changed, atMs) => conversationLeft(conversationId, changed, false, atMs)),
    );
    this.written(left === true);
    if (left === undefined) throw new ImError(ErrorCode.ConversationNotFound);
    await this.announce(conversationId, [session], left ? [session] : [], 'left');
  }

  async joinByInner(conversationId: string, sessions: readonly string[]): Promise<void> {
    const unique = [...new Set(sessions)];
    const lastMsgId = await this.store.lastMsgId(conversationId);
    const added = await this.store.joinByInner(
      conversationId,
      unique,
      this.eventOf((changed, atMs) => conversationJoined(conversationId, changed, atMs)),
    );
    this.written((added?.length ?? 0) > 0);
    if (added === undefined) throw new ImError(ErrorCode.ConversationNotFound);
    await this.announce(conversationId, unique, added, 'joined', lastMsgId);
  }

  async kick(conversationId: string, sessions: readonly string[]): Promise<void> {
    const unique = [...new Set(sessions)];
    const removed = await this.store.kick(
      conversationId,
      unique,
      this.eventOf((changed, atMs) => conversationLeft(conversationId, changed, true, atMs)),
    );
    this.written((removed?.length ?? 0) > 0);
    if (removed === undefined) throw new ImError(ErrorCode.ConversationNotFound);
    await this.announce(conversationId, unique, removed, 'kicked');
  }

  /** All or nothing: 10005 naming the unknown ids when any does not exist. */
  async setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<void> {
    const missing = await this.store.setArchived(conversationIds, isArchive);
    if (missing.length > 0) {
      throw new ImError(
        ErrorCode.ConversationNotFound,
        `conversation not found: ${missing.join(', ')}`,
      );
    }
  }

  /**
   * Tells every node's Hub, and resolves once the bus has taken the event, so a message sent
   * after the answer is routed by the new membership everywhere. If the bus fails, the change
   * is stored and applied on this node (`applyHere`), and the caller gets 503 and may retry
   * (every membership call is idempotent, and a retry announces `sessions` again) until the
   * other nodes are told. `changed`: those whose membership this call changed. `lastMsgId`
   * (joins): the conversation's newest MsgId read before the join was stored, so no message
   * stored after the join is above it (see `MembershipEvent.lastMsgId`).
   */
  private async announce(
    conversationId: string,
    sessions: readonly string[],
    changed: readonly string[],
    change: MembershipEvent['change'],
    lastMsgId?: string | null,
  ): Promise<void> {
    if (sessions.length === 0) return;
    const event: MembershipEvent = {
      type: 'membership',
      conversationId,
      sessions,
      changed,
      change,
      ...(lastMsgId === undefined ? {} : { lastMsgId }),
    };
    try {
      await this.bus.publish(event);
    } catch (err) {
      this.onBusError(err);
      this.applyHere(event);
      throw new UnavailableError('membership stored, but other nodes could not be told; retry');
    }
  }
}
