import type { MembershipEvent, ReadEvent } from '../bus/bus.js';
import { Frame } from './frame.js';

// The opt-in push events (docs/api.md, GET /notify): keys in the contract's
// order, built once per bus event and shared by every recipient.

/** `{"Event": "read", "ConversationID", "Session", "ReadMsgId"}` */
export function readFrame(event: ReadEvent): Frame {
  return Frame.event(
    'read',
    event.conversationId,
    JSON.stringify({
      Event: 'read',
      ConversationID: event.conversationId,
      Session: event.session,
      ReadMsgId: event.readMsgId,
    }),
  );
}

/**
 * `{"Event": "joined", "ConversationID", "Sessions"}` or `{"Event": "left", "ConversationID",
 * "Sessions", "Kicked"}` naming the sessions the change added or removed; null when it
 * changed no one.
 */
export function membershipFrame(event: MembershipEvent): Frame | null {
  if (event.changed.length === 0) return null;
  const base = { ConversationID: event.conversationId, Sessions: event.changed };
  const body =
    event.change === 'joined'
      ? { Event: 'joined', ...base }
      : { Event: 'left', ...base, Kicked: event.change === 'kicked' };
  return Frame.event(body.Event, event.conversationId, JSON.stringify(body));
}
