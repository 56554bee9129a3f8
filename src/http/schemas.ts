import {
  MAX_CONVERSATION_ID_LENGTH,
  MAX_PLATFORM,
  MAX_SESSIONS_PER_REQUEST,
  MAX_SESSION_ID_BYTES,
} from '../domain/conversation.js';
import { MSG_ID_PATTERN } from '../domain/msg-id.js';

// JSON schemas for every request body. Types are never coerced: "1" is not an integer.

/**
 * Every string a client sends is text both stores keep as sent: no NUL (PostgreSQL refuses it)
 * and no lone surrogate (it would be stored as U+FFFD but pushed as sent). Ajv compiles
 * patterns with the `u` flag, under which the surrogate range matches lone surrogates only.
 */
export const TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';
const text = { type: 'string', pattern: TEXT_PATTERN } as const;
const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;
const conversationId = {
  ...text,
  minLength: 1,
  maxLength: MAX_CONVERSATION_ID_LENGTH,
} as const;
const msgId = { type: 'string', pattern: MSG_ID_PATTERN } as const;
// Byte length is checked again in the handler; this bounds the work before it.
const sessionId = { ...text, minLength: 1, maxLength: MAX_SESSION_ID_BYTES } as const;
const sessions = { type: 'array', maxItems: MAX_SESSIONS_PER_REQUEST, items: sessionId } as const;
const desc = { type: 'boolean' } as const;
// docs/api.md, POST /send_msg: 1..64 printable ASCII characters without space; null: none.
const clientMsgId = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 64,
  pattern: '^[!-~]*$',
} as const;
const optionalSession = { ...sessionId, type: ['string', 'null'] } as const;
// Range is checked in the handler, where it has its own code (90010).
const conversationType = { type: 'integer' } as const;

function object<P extends Record<string, unknown>, R extends readonly (keyof P & string)[]>(
  properties: P,
  required: R,
) {
  return { type: 'object', properties, required, additionalProperties: true } as const;
}

export const bodies = {
  sendMsg: object(
    {
      conversation_id: conversationId,
      status: int32,
      type: int32,
      content: text,
      client_msg_id: clientMsgId,
    },
    ['conversation_id', 'status', 'type', 'content'],
  ),
  innerSendMsg: object(
    {
      conversation_id: conversationId,
      from_session: sessionId,
      status: int32,
      type: int32,
      content: text,
      client_msg_id: clientMsgId,
    },
    ['conversation_id', 'from_session', 'status', 'type', 'content'],
  ),
  markRead: object({ conversation_id: conversationId, msg_id: msgId }, [
    'conversation_id',
    'msg_id',
  ]),
  conversationList: { type: ['object', 'null'] },
  members: object({ conversation_id: conversationId, after: optionalSession }, ['conversation_id']),
  byConversation: object({ conversation_id: conversationId }, ['conversation_id']),
  joinedConversations: { type: ['object', 'null'] },
  createConversation: object({ conversation_type: conversationType, sessions }, [
    'conversation_type',
  ]),
  history: object({ conversation_id: conversationId, desc }, ['conversation_id']),
  aroundId: object({ conversation_id: conversationId, msg_id: msgId, desc }, [
    'conversation_id',
    'msg_id',
  ]),
  range: object({ conversation_id: conversationId, start_msg_id: msgId, end_msg_id: msgId, desc }, [
    'conversation_id',
    'start_msg_id',
    'end_msg_id',
  ]),
  getToken: object(
    { session: sessionId, platform: { type: 'integer', minimum: 0, maximum: MAX_PLATFORM } },
    ['session', 'platform'],
  ),
  innerCreate: object({ conversation_type: conversationType, sessions }, [
    'conversation_type',
    'sessions',
  ]),
  innerMembers: object({ conversation_id: conversationId, sessions }, [
    'conversation_id',
    'sessions',
  ]),
  setArchive: object(
    {
      conversation_ids: {
        type: 'array',
        maxItems: MAX_SESSIONS_PER_REQUEST,
        items: conversationId,
      },
      is_archive: { type: 'boolean' },
    },
    ['conversation_ids', 'is_archive'],
  ),
} as const;

// Presence and revocation (`registerPresenceRoutes`).
export const presenceBodies = {
  getPresence: object({ sessions }, ['sessions']),
  revokeSession: object(
    {
      session: sessionId,
      // null, like absent, revokes every platform.
      platform: { type: ['integer', 'null'], minimum: 0, maximum: MAX_PLATFORM },
    },
    ['session'],
  ),
} as const;

/** Long-poll limits of `GET /notify` (`timeout` in seconds, `batch` in messages). */
export const DEFAULT_POLL_TIMEOUT_SEC = 30;
export const MAX_POLL_TIMEOUT_SEC = 60;
export const MAX_POLL_BATCH = 100;

/**
 * The query of `GET /notify`. The route parses it by hand, in this order, so that a bad
 * `protoc` answers 90013 before any other check; this schema documents what it accepts.
 */
export const notifyQuery = {
  type: 'object',
  properties: {
    protoc: {
      enum: ['ws', 'sse', 'poll'],
      description: 'The push protocol; anything else answers 400 / 90013.',
    },
    token: {
      type: 'string',
      description: 'The token, unless given as `Authorization: Bearer`.',
    },
    last_msg_id: {
      type: 'string',
      pattern: `${MSG_ID_PATTERN}|^$`,
      description: 'Resume after this MsgId (SSE: else the `Last-Event-ID` header); empty is none.',
    },
    timeout: {
      type: 'string',
      pattern: '^\\d{1,3}$',
      description: `poll only: seconds to wait, 0..${MAX_POLL_TIMEOUT_SEC} (default ${DEFAULT_POLL_TIMEOUT_SEC}).`,
    },
    batch: {
      type: 'string',
      pattern: '^\\d{1,3}$',
      description: `poll only: answer an array of up to this many messages, 1..${MAX_POLL_BATCH}.`,
    },
    events: {
      const: '1',
      description: 'ws and sse only: add read, joined and left event frames to the stream.',
    },
  },
  required: ['protoc'],
} as const;
