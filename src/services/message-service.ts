import { HISTORY_PAGE, MAX_RANGE_MESSAGES } from '../domain/conversation.js';
import { ErrorCode, ImError, RateLimitedError } from '../domain/errors.js';
import { nowMicros, serializeMessage } from '../domain/message.js';
import type { Message } from '../domain/message.js';
import { MAX_OFFLINE_SESSIONS, messageCreated } from '../domain/webhook-event.js';
import type { Bus } from '../bus/bus.js';
import type {
  CursorStore,
  MessageDraft,
  MessageStore,
  UncheckedAppendResult,
} from '../store/store.js';
import type { ConversationService } from './conversation-service.js';
import type { RateLimiter } from './rate-limiter.js';
import type { WebhookEvents } from './webhook-events.js';

/** Members read per page when listing a message's offline members. */
const MEMBER_PAGE = 1000;

export interface SendInput {
  readonly conversationId: string;
  readonly status: number;
  readonly type: number;
  readonly content: string;
  /** Idempotency key (`client_msg_id`); absent: none. */
  readonly clientMsgId?: string;
}

/** Sending and reading messages; knows nothing of HTTP. */
export class MessageService {
  constructor(
    private readonly store: MessageStore & Pick<CursorStore, 'memberCursors'>,
    private readonly bus: Bus,
    private readonly conversations: ConversationService,
    private readonly maxContentBytes: number,
    private readonly onBusError: (err: unknown) => void,
    private readonly counters?: { messageAccepted(): void },
    /** Messages per session (`--send-rate`). */
    private readonly sendLimiter?: RateLimiter,
    /** Webhooks on: each stored message writes a `message.created` event with it. */
    private readonly webhooks?: WebhookEvents,
  ) {}

  /**
   * Stores the message (membership checked in the same transaction) and resolves after the
   * commit; then announces it on the bus. 10007 when `content` exceeds the limit, 10006 (nothing
   * stored) when `session` is over its send rate. A retry with a `clientMsgId` already used
   * resolves with the first message and announces nothing.
   */
  async send(session: string, input: SendInput): Promise<Message> {
    const draft = this.draft(session, input);
    const retryAfter = this.sendLimiter?.take(session) ?? 0;
    if (retryAfter > 0) throw new RateLimitedError(retryAfter);
    const result = await this.store.appendMessage(await this.withEvent(draft));
    if (result.kind === 'not-member') throw new ImError(ErrorCode.NotMember);
    return this.accepted(result);
  }

  /**
   * A server-side send (`/inner/send_msg`): as `send`, but `session` need not be a member; the
   * conversation must exist (10005).
   */
  async sendAs(session: string, input: SendInput): Promise<Message> {
    const draft = await this.withEvent(this.draft(session, input));
    return this.accepted(await this.store.appendUnchecked(draft));
  }

  /**
   * With webhooks on, the draft carries its `message.created` event, which the store writes
   * in the message's transaction. `OfflineSessions` costs one more store read per send (a
   * page of up to 1,000 members, by the members index; more pages only while fewer than
   * 1,000 offline members have been found), taken just before the append.
   */
  private async withEvent(draft: MessageDraft): Promise<MessageDraft> {
    const webhooks = this.webhooks;
    if (!webhooks) return draft;
    const offline = await this.offlineMembers(draft.conversationId, draft.fromSession, webhooks);
    const atMs = webhooks.now();
    return { ...draft, event: (message) => messageCreated(message, offline, atMs) };
  }

  /** The first 1,000 members in byte order, other than `sender`, with no push connection. */
  private async offlineMembers(
    conversationId: string,
    sender: string,
    webhooks: WebhookEvents,
  ): Promise<string[]> {
    const offline: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await this.store.memberCursors(conversationId, after, MEMBER_PAGE);
      if (page === undefined) return offline;
      for (const { session } of page) {
        if (session === sender || webhooks.presence.platformsOf(session).length > 0) continue;
        offline.push(session);
        if (offline.length === MAX_OFFLINE_SESSIONS) return offline;
      }
      const last = page[page.length - 1];
      if (page.length < MEMBER_PAGE || last === undefined) return offline;
      after = last.session;
    }
  }

  private draft(session: string, input: SendInput): MessageDraft {
    if (
      input.content.length > this.maxContentBytes / 3 &&
      Buffer.byteLength(input.content, 'utf8') > this.maxContentBytes
    ) {
      throw new ImError(ErrorCode.TooLarge, `content exceeds ${this.maxContentBytes} bytes`);
    }
    const draft: MessageDraft = {
      conversationId: input.conversationId,
      fromSession: session,
      status: input.status,
      type: input.type,
      content: input.content,
      sendTime: nowMicros(),
    };
    return input.clientMsgId === undefined ? draft : { ...draft, clientMsgId: input.clientMsgId };
  }

  private accepted(result: UncheckedAppendResult): Message {
    if (result.kind === 'not-found') throw new ImError(ErrorCode.ConversationNotFound);
    if (result.kind === 'duplicate') return result.message;
    const { message, previousMsgId } = result;
    this.counters?.messageAccepted();
    this.webhooks?.written();
    this.bus
      .publish({
        type: 'message',
        conversationId: message.ConversationID,
        msgId: message.MsgId,
        prevMsgId: previousMsgId,
        frame: serializeMessage(message),
      })
      .catch(this.onBusError);
    return message;
  }

  async lastMsgId(conversationId: string, session: string): Promise<string | null> {
    await this.conversations.requireMember(conversationId, session);
    return this.store.lastMsgId(conversationId);
  }

  /** The 30 messages nearest `msgId`, strictly before it (or the newest 30 when `msgId` is null). */
  async before(
    conversationId: string,
    session: string,
    msgId: string | null,
    desc: boolean,
  ): Promise<Message[]> {
    await this.conversations.requireMember(conversationId, session);
    return order(await this.store.messagesBefore(conversationId, msgId, HISTORY_PAGE), desc);
  }

  /** The 30 messages nearest `msgId`, strictly after it. */
  async after(
    conversationId: string,
    session: string,
    msgId: string,
    desc: boolean,
  ): Promise<Message[]> {
    await this.conversations.requireMember(conversationId, session);
    return order(await this.store.messagesAfter(conversationId, msgId, HISTORY_PAGE), desc);
  }

  /** The newest message as a list of zero or one. */
  async lastOne(conversationId: string, session: string): Promise<Message[]> {
    await this.conversations.requireMember(conversationId, session);
    return this.store.messagesBefore(conversationId, null, 1);
  }

  /** Inclusive range, at most 1000, nearest `start` ascending or nearest `end` descending. */
  async range(
    conversationId: string,
    session: string,
    start: string,
    end: string,
    desc: boolean,
  ): Promise<Message[]> {
    await this.conversations.requireMember(conversationId, session);
    if (start > end) return [];
    const messages = desc
      ? await this.store.rangeFromEnd(conversationId, start, end, MAX_RANGE_MESSAGES)
      : await this.store.rangeFromStart(conversationId, start, end, MAX_RANGE_MESSAGES);
    return order(messages, desc);
  }
}

function order(messages: Message[], desc: boolean): Message[] {
  return desc ? messages.reverse() : messages;
}
