/** Conversation detail, with the contract's field names. */
export interface ConversationDetail {
  readonly ConversationID: string;
  readonly LastMsgID: string | null;
  readonly LastSendTime: number | null;
  readonly IsDelete: false;
  readonly ConversationType: number;
  readonly LastSendSession: string | null;
  readonly IsArchive: boolean;
}

/** Where a session stands in one conversation. `kicked` may only come back through an inner join. */
export type MemberState = 'member' | 'left' | 'kicked';

export const MIN_CONVERSATION_TYPE = 0;
export const MAX_CONVERSATION_TYPE = 15;
export const MAX_CONVERSATION_ID_LENGTH = 64;
export const MAX_SESSION_ID_BYTES = 128;
export const MAX_PLATFORM = 255;
export const MAX_SESSIONS_PER_REQUEST = 1000;
export const HISTORY_PAGE = 30;
export const MAX_RANGE_MESSAGES = 1000;
