import type { SendInput } from '../../services/message-service.js';
import { assertSessionIds } from './validate.js';

// Request bodies that public and inner routes share, and how each becomes a service's input.

/** The body of `/send_msg`; `/inner/send_msg` adds `from_session`. */
export interface SendBody {
  conversation_id: string;
  status: number;
  type: number;
  content: string;
  client_msg_id?: string | null;
}

/** The send as the message service takes it: a null `client_msg_id` is none. */
export function sendInput(b: SendBody): SendInput {
  const input = {
    conversationId: b.conversation_id,
    status: b.status,
    type: b.type,
    content: b.content,
  };
  return b.client_msg_id == null ? input : { ...input, clientMsgId: b.client_msg_id };
}

/** The body of a member page request (public and inner). */
export interface MembersPageBody {
  conversation_id: string;
  after?: string | null;
}

/** Where a member page starts: after `after` (byte-checked like every session id), or first. */
export function pageAfter(b: MembersPageBody): string | null {
  if (b.after == null) return null;
  assertSessionIds([b.after]);
  return b.after;
}
