import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import type { RevocationStore } from './revocations.js';
import type {
  MembershipEventOf,
  MessageEventOf,
  OutboxDraft,
  WebhookOutbox,
} from './webhook-outbox.js';

/** A message to append; the store allocates `MsgId` inside the appending transaction. */
export interface MessageDraft {
  readonly conversationId: string;
  readonly fromSession: string;
  readonly status: number;
  readonly type: number;
  readonly content: string;
  /** Microseconds since the Unix epoch; also the time an idempotency key is judged by. */
  readonly sendTime: number;
  /**
   * The sender's idempotency key (`client_msg_id`): a later draft with the same key from the
   * same sender to the same conversation, sent less than `CLIENT_MSG_ID_TTL_MS` after this one,
   * is a duplicate. Absent: no key.
   */
  readonly clientMsgId?: string;
  /**
   * The message's webhook event, written to the outbox in the appending transaction when the
   * message is stored. Absent: webhooks are off, nothing is built or written.
   */
  readonly event?: MessageEventOf;
}

/** How long an idempotency key deduplicates, from the `sendTime` of the send that stored it. */
export const CLIENT_MSG_ID_TTL_MS = 24 * 60 * 60 * 1000;

/** Most unread messages counted per conversation; a count at this cap means "at least". */
export const MAX_UNREAD = 10_000;

/**
 * Returns the new id, strictly greater than `lastMsgId` (the conversation's last id, or null
 * for its first message). Given to a store at construction; called before the message is
 * written: under the conversation's lock, or (PostgreSQL) with the last id this node stored,
 * which the write then checks; when that check fails the store calls it again with the true
 * last id, so not every id it returns is stored.
 */
export type AllocateMsgId = (lastMsgId: string | null) => string;

export type AppendResult =
  | {
      readonly kind: 'appended';
      readonly message: Message;
      /** The conversation's last id before this message (null for its first). */
      readonly previousMsgId: string | null;
    }
  | {
      /** The draft's idempotency key was used within its window: nothing was stored. */
      readonly kind: 'duplicate';
      /** The message the key was first used for. */
      readonly message: Message;
    }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-member' };

/** What `appendUnchecked` answers: it never refuses a sender. */
export type UncheckedAppendResult = Exclude<AppendResult, { kind: 'not-member' }>;

/**
 * A message row's values in the order both stores' INSERT statements name them:
 * conversation_id, msg_id, from_session, send_time, status, type, content.
 */
export function messageRow(
  draft: MessageDraft,
  msgId: string,
): [string, string, string, number, number, number, string] {
  return [
    draft.conversationId,
    msgId,
    draft.fromSession,
    draft.sendTime,
    draft.status,
    draft.type,
    draft.content,
  ];
}

/** The `appended` result of storing `draft` as `msgId` after `previousMsgId`. */
export function appendedResult(
  draft: MessageDraft,
  msgId: string,
  previousMsgId: string | null,
): Extract<AppendResult, { kind: 'appended' }> {
  return {
    kind: 'appended',
    previousMsgId,
    message: {
      MsgId: msgId,
      ConversationID: draft.conversationId,
      FromSession: draft.fromSession,
      SendTime: draft.sendTime,
      Status: draft.status,
      Type: draft.type,
      Content: draft.content,
    },
  };
}

/** Where a message stands, without its contents: what a resume replay plans with. */
export interface MessageRef {
  readonly msgId: string;
  readonly conversationId: string;
}

/** Outcome of a session asking to join by itself (`already-member`: nothing changed). */
export type SelfJoinResult = 'joined' | 'already-member' | 'not-found' | 'kicked';

/*
 * Every method of every store interface is atomic, and rejects with `UnavailableError` when
 * the store cannot answer (connection lost, timeout, closed).
 */

/**
 * Conversations and who belongs to them. Every session a call makes a member (create, join,
 * inner join — not one that already was) gets the conversation's last id as its read cursor
 * (see `CursorStore`), in the same transaction. A change's webhook `event` (absent: webhooks
 * off) is written to the outbox in that transaction too, and only when someone's membership
 * changed.
 */
export interface ConversationStore {
  /** Creates a conversation whose members are `sessions` (duplicates ignored). */
  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): Promise<void>;

  /** `undefined` when the conversation does not exist. */
  getConversation(conversationId: string): Promise<ConversationDetail | undefined>;

  /** `undefined` when the conversation does not exist; else whether `session` is a current member. */
  isMember(conversationId: string, session: string): Promise<boolean | undefined>;

  /** Ids of the conversations `session` is a current member of, oldest membership first. */
  joinedConversations(session: string): Promise<string[]>;

  /** The session joins by itself: idempotent; refused if it was kicked. */
  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult>;

  /**
   * Inner join: adds every session, including kicked ones. Resolves with the sessions that were
   * not current members before (in the order given, each once); `undefined` if the
   * conversation does not exist.
   */
  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined>;

  /**
   * Leaves; a no-op for a non-member. True if `session` was a member, false if not;
   * `undefined` if the conversation does not exist.
   */
  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined>;

  /**
   * Removes sessions and bars them from joining by themselves. Resolves with the sessions that
   * were current members (in the order given, each once); `undefined` if the conversation does
   * not exist.
   */
  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined>;

  /** Sets the archive flag on every id, or on none: returns the ids that do not exist (nothing changed then). */
  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]>;
}

/**
 * Messages, ordered per conversation by `MsgId`. Every list is returned in ascending `MsgId`
 * order, whichever end it was read from; callers reverse for `desc`. A `limit` is a count of
 * messages. An unknown conversation reads as one without messages.
 */
export interface MessageStore {
  /**
   * Appends a message if `draft.fromSession` is a current member, allocating its id with the
   * store's allocator and moving the conversation's last-message fields in the same
   * transaction. Resolves only after the commit. With `draft.clientMsgId`, the key is checked
   * (after existence and membership) and stored in that same transaction: a key used within
   * its window answers `duplicate`, storing nothing; an older one is replaced. Concurrent
   * appends with one key store one message.
   */
  appendMessage(draft: MessageDraft): Promise<AppendResult>;

  /**
   * `appendMessage` for server-side sends: `draft.fromSession` need not be a member (and is
   * not made one). Same ordering, idempotency and commit rules.
   */
  appendUnchecked(draft: MessageDraft): Promise<UncheckedAppendResult>;

  /** The conversation's newest id, or null when it has no message (or does not exist). */
  lastMsgId(conversationId: string): Promise<string | null>;

  /** Up to `limit` messages strictly before `msgId`, the nearest to it; null: the newest. */
  messagesBefore(conversationId: string, msgId: string | null, limit: number): Promise<Message[]>;

  /** Up to `limit` messages strictly after `msgId`, the nearest to it; null: the oldest. */
  messagesAfter(conversationId: string, msgId: string | null, limit: number): Promise<Message[]>;

  /** Messages with `startId <= MsgId <= endId`: up to `limit`, the nearest `startId`. */
  rangeFromStart(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]>;

  /** Messages with `startId <= MsgId <= endId`: up to `limit`, the nearest `endId`. */
  rangeFromEnd(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
  ): Promise<Message[]>;

  /**
   * Where a resume replay stands: the newest `limit` messages after `afterId` across every
   * conversation `session` is a current member of, as ids only, ascending by MsgId. Read per
   * conversation from the (conversation_id, msg_id) index, at most `limit` ids from each: never
   * message contents, never a scan of history. The replay then reads the contents a page at a
   * time with `rangeFromStart`; per conversation the refs are a contiguous run of its ids.
   */
  missedMessageRefs(session: string, afterId: string, limit: number): Promise<MessageRef[]>;
}

/** A member's read cursor in one conversation. */
export interface MemberCursor {
  readonly session: string;
  /** See `CursorStore`: the newest MsgId the member has read, or null. */
  readonly readMsgId: string | null;
}

/** One conversation of a session's list, with its read state. */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly type: number;
  readonly isArchive: boolean;
  readonly lastMsgId: string | null;
  /** Microseconds since the epoch; null when the conversation has no message. */
  readonly lastSendTime: number | null;
  readonly lastSendSession: string | null;
  readonly readMsgId: string | null;
  /** Messages after `readMsgId` (all, when null), at most `MAX_UNREAD`. */
  readonly unread: number;
}

export type MarkReadResult =
  | {
      readonly kind: 'read';
      /** The cursor after the call. */
      readonly readMsgId: string | null;
      /** Whether the call moved it. */
      readonly advanced: boolean;
    }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-member' };

/**
 * Where readers stand: long-poll positions, and each member's read cursor. Times in ms.
 *
 * A member's read cursor is the greater of what it marked read (or the conversation's last
 * id when it joined) and its own newest message there: a send moves its sender's cursor in
 * the message's own transaction without a second write, and no message of a member ever lies
 * after its cursor, so every message after it counts as unread.
 */
export interface CursorStore {
  /**
   * Remembers where a long-poll (session, platform) stands — the newest MsgId it was answered —
   * so its next poll continues from there on any node. `atMs` is when, in ms since the epoch;
   * a later save for the same (session, platform) replaces it.
   */
  savePollCursor(session: string, platform: number, msgId: string, atMs: number): Promise<void>;

  /** The cursor saved for (session, platform) at or after `sinceMs`, or null (none, or older). */
  pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null>;

  /** Deletes every poll cursor saved before `beforeMs` (strictly); resolves with how many. */
  deleteExpiredPollCursors(beforeMs: number): Promise<number>;

  /**
   * Moves `session`'s cursor to `max(cursor, min(msgId, last id))`: never back, never past the
   * newest message, and it stays null while the conversation has none. Members only.
   */
  markRead(conversationId: string, session: string, msgId: string): Promise<MarkReadResult>;

  /**
   * Every conversation `session` is a current member of, newest `lastSendTime` first (ties:
   * greater `lastMsgId`, then conversation id), those without messages last. Unread counts
   * come from an index range per conversation, never from loading messages.
   */
  conversationSummaries(session: string): Promise<ConversationSummary[]>;

  /**
   * Up to `limit` current members with session ids strictly greater than `after` (null: from
   * the first) in byte order, with their cursors; `undefined` when the conversation does not
   * exist.
   */
  memberCursors(
    conversationId: string,
    after: string | null,
    limit: number,
  ): Promise<MemberCursor[] | undefined>;
}

/** Idempotency keys (`client_msg_id`), written by appends. */
export interface IdempotencyStore {
  /**
   * Deletes every key first used before `beforeMs` (ms since the epoch, strictly); resolves
   * with how many. A deleted key no longer deduplicates.
   */
  deleteExpiredClientMsgIds(beforeMs: number): Promise<number>;
}

/** Where all state lives: one class per backend implements every concern. */
export interface Store
  extends
    ConversationStore,
    MessageStore,
    CursorStore,
    IdempotencyStore,
    RevocationStore,
    WebhookOutbox {
  /** Resolves when the store answers; rejects with `UnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Commits writes already accepted, then releases the database; later calls reject. */
  close(): Promise<void>;
}
