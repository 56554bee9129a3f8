import type { ConversationDetail } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';

/** A message to append; the store allocates `MsgId` inside the appending transaction. */
export interface MessageDraft {
  readonly conversationId: string;
  readonly fromSession: string;
  readonly status: number;
  readonly type: number;
  readonly content: string;
  /** Microseconds since the Unix epoch. */
  readonly sendTime: number;
}

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
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-member' };

/** The `appended` result of storing `draft` as `msgId` after `previousMsgId`. */
export function appendedResult(
  draft: MessageDraft,
  msgId: string,
  previousMsgId: string | null,
): AppendResult {
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

/** Outcome of a session asking to join by itself. */
export type SelfJoinResult = 'joined' | 'not-found' | 'kicked';

/*
 * Every method of every store interface is atomic, and rejects with `UnavailableError` when
 * the store cannot answer (connection lost, timeout, closed).
 */

/** Conversations and who belongs to them. */
export interface ConversationStore {
  /** Creates a conversation whose members are `sessions` (duplicates ignored). */
  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
  ): Promise<void>;

  /** `undefined` when the conversation does not exist. */
  getConversation(conversationId: string): Promise<ConversationDetail | undefined>;

  /** `undefined` when the conversation does not exist; else whether `session` is a current member. */
  isMember(conversationId: string, session: string): Promise<boolean | undefined>;

  /** Ids of the conversations `session` is a current member of, oldest membership first. */
  joinedConversations(session: string): Promise<string[]>;

  /** The session joins by itself: idempotent; refused if it was kicked. */
  joinBySelf(conversationId: string, session: string): Promise<SelfJoinResult>;

  /** Inner join: adds every session, including kicked ones. `false` if the conversation does not exist. */
  joinByInner(conversationId: string, sessions: readonly string[]): Promise<boolean>;

  /** Leaves; a no-op for a non-member. `false` if the conversation does not exist. */
  leave(conversationId: string, session: string): Promise<boolean>;

  /** Removes sessions and bars them from joining by themselves. `false` if the conversation does not exist. */
  kick(conversationId: string, sessions: readonly string[]): Promise<boolean>;

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
   * transaction. Resolves only after the commit.
   */
  appendMessage(draft: MessageDraft): Promise<AppendResult>;

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

/** Where a reader stands: long-poll positions (read cursors will join them). Times in ms. */
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
}

/** Where all state lives: one class per backend implements every concern. */
export interface Store extends ConversationStore, MessageStore, CursorStore {
  /** Resolves when the store answers; rejects with `UnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Commits writes already accepted, then releases the database; later calls reject. */
  close(): Promise<void>;
}
