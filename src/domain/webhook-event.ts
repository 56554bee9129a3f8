import { randomUUID } from 'node:crypto';
import type { Message } from './message.js';

/** Most sessions listed in `OfflineSessions`: the first ones in byte order. */
export const MAX_OFFLINE_SESSIONS = 1000;

/** An event for the product's backend, ready to be written to the outbox with what it reports. */
export interface WebhookEvent {
  /** `webhook-id`: stable across retries, distinct between events. */
  readonly id: string;
  readonly conversationId: string;
  /** `{"type", "timestamp", "data"}` JSON, the request body of every attempt. */
  readonly body: string;
  /** When it happened, ms since the Unix epoch. */
  readonly createdAtMs: number;
}

function event(conversationId: string, type: string, atMs: number, data: object): WebhookEvent {
  const body = JSON.stringify({ type, timestamp: new Date(atMs).toISOString(), data });
  return { id: `evt_${randomUUID().replaceAll('-', '')}`, conversationId, body, createdAtMs: atMs };
}

/** Sorted in byte order (UTF-8 code units compare like UTF-16 ones outside the surrogates). */
function byteOrder(sessions: readonly string[]): string[] {
  return [...sessions].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** `message.created`: `MsgData` plus the members (sender excluded) with no push connection. */
export function messageCreated(
  m: Message,
  offlineSessions: readonly string[],
  atMs: number,
): WebhookEvent {
  return event(m.ConversationID, 'message.created', atMs, {
    MsgId: m.MsgId,
    ConversationID: m.ConversationID,
    FromSession: m.FromSession,
    SendTime: m.SendTime,
    Status: m.Status,
    Type: m.Type,
    Content: m.Content,
    OfflineSessions: byteOrder(offlineSessions).slice(0, MAX_OFFLINE_SESSIONS),
  });
}

export function conversationCreated(
  conversationId: string,
  conversationType: number,
  sessions: readonly string[],
  atMs: number,
): WebhookEvent {
  return event(conversationId, 'conversation.created', atMs, {
    ConversationID: conversationId,
    ConversationType: conversationType,
    Sessions: [...sessions],
  });
}

export function conversationJoined(
  conversationId: string,
  sessions: readonly string[],
  atMs: number,
): WebhookEvent {
  return event(conversationId, 'conversation.joined', atMs, {
    ConversationID: conversationId,
    Sessions: [...sessions],
  });
}

export function conversationLeft(
  conversationId: string,
  sessions: readonly string[],
  kicked: boolean,
  atMs: number,
): WebhookEvent {
  return event(conversationId, 'conversation.left', atMs, {
    ConversationID: conversationId,
    Sessions: [...sessions],
    Kicked: kicked,
  });
}
