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
 * for its first message). Called before the message is written: under the conversation's lock,
 * or (PostgreSQL) with the last id this node stored, which the write then checks; when that
 * check fails the store calls it again with the true last id, so not every id it returns is
 * stored.
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

/** Outcome of a session asking to join by itself. */
export type SelfJoinResult = 'joined' | 'not-found' | 'kicked';

/** Which side of an id a history page reads; the page holds the messages nearest the id. */
export type HistoryDirection = 'before' | 'after';

/**
 * Where all state lives: conversations, members and messages. Every method is atomic.
 * Message lists are always returned in ascending `MsgId` order; callers reverse for `desc`.
 * Unavailability (connection lost, timeout) rejects with `UnavailableError`.
 */
export interface Store {
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

  /** Current members of a conversation (empty when it does not exist). */
  members(conversationId: string): Promise<string[]>;

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

  /**
   * Appends a message if `draft.fromSession` is a current member, allocating its id with
   * `allocate` and moving the conversation's last-message fields in the same transaction.
   * Resolves only after the commit.
   */
  appendMessage(draft: MessageDraft, allocate: AllocateMsgId): Promise<AppendResult>;

  /** The conversation's newest id, or null when it has no message. */
  lastMsgId(conversationId: string): Promise<string | null>;

  /** Up to `limit` messages strictly before/after `msgId`, nearest to it (null: from the newest/oldest end). */
  history(
    conversationId: string,
    direction: HistoryDirection,
    msgId: string | null,
    limit: number,
  ): Promise<Message[]>;

  /** Messages with `startId <= MsgId <= endId`: up to `limit`, nearest `startId` (or `endId` if `fromEnd`). */
  range(
    conversationId: string,
    startId: string,
    endId: string,
    limit: number,
    fromEnd: boolean,
  ): Promise<Message[]>;

  /**
   * Messages after `afterId` in every conversation `session` is a member of, the newest
   * `limit` of them when more exist, ascending. Used for resume.
   */
  missedMessages(session: string, afterId: string, limit: number): Promise<Message[]>;

  /**
   * Remembers where a long-poll (session, platform) stands — the newest MsgId it was answered —
   * so its next poll continues from there on any node. `atMs` is when, in ms.
   */
  savePollCursor(session: string, platform: number, msgId: string, atMs: number): Promise<void>;

  /** The cursor saved for (session, platform) at or after `sinceMs`, or null. */
  pollCursor(session: string, platform: number, sinceMs: number): Promise<string | null>;

  /** Resolves when the store answers; rejects with `UnavailableError` otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
