import { MSG_ID_PATTERN } from '../domain/msg-id.js';

// JSON schemas of every answer's `data` (docs/api.md, `GET /openapi.json`). Documentation and
// contract tests read them; answers are serialized with JSON.stringify, never through them.

const msgId = { type: 'string', pattern: MSG_ID_PATTERN } as const;
const nullableMsgId = { type: ['string', 'null'], pattern: MSG_ID_PATTERN } as const;
const conversationId = { type: 'string', minLength: 1, maxLength: 64 } as const;
const session = { type: 'string', minLength: 1 } as const;
/** Microseconds since the Unix epoch. */
const micros = { type: 'integer', minimum: 0 } as const;
const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;

/** An object with exactly these keys, all present. */
function exact<P extends Record<string, unknown>>(properties: P, description?: string) {
  return {
    type: 'object',
    ...(description === undefined ? {} : { description }),
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  } as const;
}

/** Named schemas (`#/components/schemas/<name>`) that several answers share. */
export const sharedSchemas = {
  MsgData: exact(
    {
      MsgId: msgId,
      ConversationID: conversationId,
      FromSession: session,
      SendTime: micros,
      Status: int32,
      Type: int32,
      Content: { type: 'string' },
    },
    'A stored message, with exactly these keys in this order.',
  ),
  ConversationDetail: exact({
    ConversationID: conversationId,
    LastMsgID: nullableMsgId,
    LastSendTime: { type: ['integer', 'null'], minimum: 0 },
    IsDelete: { const: false, description: 'Reserved; always false.' },
    ConversationType: { type: 'integer', minimum: 0, maximum: 15 },
    LastSendSession: { type: ['string', 'null'] },
    IsArchive: { type: 'boolean' },
  }),
  MemberPage: exact(
    {
      ConversationID: conversationId,
      Members: {
        type: 'array',
        maxItems: 500,
        items: exact({ Session: session, ReadMsgId: nullableMsgId, Online: { type: 'boolean' } }),
      },
      Next: {
        type: ['string', 'null'],
        description: 'The last session of a full page (pass it as `after`), else null.',
      },
    },
    'Current members sorted by session id (byte order), 500 per page.',
  ),
} as const;

const ref = (name: keyof typeof sharedSchemas) => ({ $ref: `#/components/schemas/${name}` });
const messages = exact({ Msg: { type: 'array', items: ref('MsgData') } });
const byConversation = exact({ ConversationId: conversationId });
const sentMsg = exact({ MsgID: msgId });

/** The `data` of each answer, by what it is. */
export const answers = {
  sentMsg,
  joined: exact({ Joined: { type: 'boolean' } }),
  conversations: exact({ Conversations: { type: 'array', items: conversationId } }),
  detail: ref('ConversationDetail'),
  byConversation,
  lastMsgId: exact({ MsgId: nullableMsgId }),
  messages,
  markRead: exact({ ConversationId: conversationId, ReadMsgId: nullableMsgId }),
  conversationList: exact({
    Total: { type: 'integer', minimum: 0 },
    Conversations: {
      type: 'array',
      items: exact({
        ConversationID: conversationId,
        ConversationType: { type: 'integer', minimum: 0, maximum: 15 },
        IsArchive: { type: 'boolean' },
        LastMsgID: nullableMsgId,
        LastSendTime: { type: ['integer', 'null'], minimum: 0 },
        LastSendSession: { type: ['string', 'null'] },
        ReadMsgId: nullableMsgId,
        Unread: { type: 'integer', minimum: 0, maximum: 10_000 },
      }),
    },
  }),
  memberPage: ref('MemberPage'),
  token: {
    type: 'string',
    description: 'A JWT (HS256).',
    pattern: '^[\\w-]+\\.[\\w-]+\\.[\\w-]+$',
  },
  presence: exact({
    Presence: {
      type: 'array',
      items: exact({
        Session: session,
        Online: { type: 'boolean' },
        Platforms: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 } },
      }),
    },
  }),
  revoked: {
    type: 'object',
    properties: {
      Session: session,
      Platform: { type: 'integer', minimum: 0, maximum: 255, description: 'Only when given.' },
      RevokedBefore: { type: 'integer', description: 'Unix seconds.' },
    },
    required: ['Session', 'RevokedBefore'],
    additionalProperties: false,
  },
} as const;

/** What a long-poll answers 200 with: one message, or with `batch` an array of them. */
export const pollAnswer = {
  oneOf: [ref('MsgData'), { type: 'array', minItems: 1, maxItems: 100, items: ref('MsgData') }],
} as const;

/** `/healthz`, `/livez`, `/readyz` answers. */
export const probeAnswers = {
  ok: exact({ status: { const: 'ok' } }),
  unavailable: exact({ status: { const: 'unavailable' } }),
  notReady: {
    type: 'object',
    properties: {
      status: { enum: ['unavailable', 'draining'] },
      failing: {
        type: 'array',
        items: { enum: ['store', 'bus'] },
        description: 'What did not answer (absent while draining).',
      },
    },
    required: ['status'],
    additionalProperties: false,
  },
} as const;
