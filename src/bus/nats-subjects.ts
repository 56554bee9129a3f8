import { createHash } from 'node:crypto';
import type { BusEvent } from './bus.js';

/**
 * Session-wide events (`connected`, `disconnected`, `presence`, `revoked`) and `membership`:
 * every node hears them. They are rare beside messages, and a join must reach the node holding
 * the joining session even before it follows the conversation.
 */
export const GLOBAL_SUBJECT = 'quickim.g';

/** Ids used as they are in a subject: NATS tokens may not hold `.`, `*`, `>` or whitespace. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The subject of one conversation's events (`message`, `read`). A subject-safe id is its own
 * token (`quickim.c.<id>`); any other id (a dot, a space, over 128 characters) is hashed under
 * a distinct prefix (`quickim.h.<sha-256, base64url>`), so it can never meet a safe id's
 * subject. Receivers look events up by `conversationId`, so even a hash collision would only
 * cost a lookup, never a misdelivery.
 */
export function conversationSubject(conversationId: string): string {
  if (SAFE_ID.test(conversationId)) return `quickim.c.${conversationId}`;
  return `quickim.h.${createHash('sha256').update(conversationId).digest('base64url')}`;
}

/** Where `event` is published. */
export function subjectOf(event: BusEvent): string {
  return event.type === 'message' || event.type === 'read'
    ? conversationSubject(event.conversationId)
    : GLOBAL_SUBJECT;
}

const MESSAGE_TAG = 'M';
const JSON_TAG = 'J';
const encoder = new TextEncoder();

/** Messages skip a second JSON encoding: the frame is already `MsgData` JSON. */
export function encodeEvent(event: BusEvent): Uint8Array {
  if (event.type === 'message') {
    const { conversationId, msgId, prevMsgId, frame } = event;
    return encoder.encode(
      `${MESSAGE_TAG}${conversationId}\n${msgId}\n${prevMsgId ?? ''}\n${frame}`,
    );
  }
  return encoder.encode(JSON_TAG + JSON.stringify(event));
}

export function decodeEvent(text: string): BusEvent {
  if (text.startsWith(MESSAGE_TAG)) {
    const a = text.indexOf('\n');
    const b = text.indexOf('\n', a + 1);
    const c = text.indexOf('\n', b + 1);
    return {
      type: 'message',
      conversationId: text.slice(1, a),
      msgId: text.slice(a + 1, b),
      prevMsgId: b + 1 === c ? null : text.slice(b + 1, c),
      frame: text.slice(c + 1),
    };
  }
  return JSON.parse(text.slice(1)) as BusEvent;
}
