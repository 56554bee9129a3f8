import type { JoinedEvent, LeftEvent, MsgData, PushEvent, ReadEvent, Transport } from '../types.js';
import type { ConnectParams } from './transport.js';

/**
 * The `/notify` URL for `protoc`, with `last_msg_id` when there is a resume point, `events=1`
 * when events were asked for, and the `extra` parameters that are defined. ws URLs use the
 * ws:/wss: scheme.
 */
export function notifyUrl(
  params: ConnectParams,
  protoc: Transport,
  extra: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const query = new URLSearchParams({ protoc });
  if (params.lastMsgId !== null) query.set('last_msg_id', params.lastMsgId);
  if (params.events) query.set('events', '1');
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined) query.set(name, String(value));
  }
  const url = `${params.baseUrl}/notify?${query.toString()}`;
  return protoc === 'ws' ? url.replace(/^http/i, 'ws') : url;
}

/** `Authorization` for sse and poll, where headers can be set (browsers cannot set them on WebSocket). */
export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Whether `value` looks like MsgData: an object with a string `MsgId` and `ConversationID`. */
export function isMsgData(value: unknown): value is MsgData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<keyof MsgData, unknown>>;
  return typeof v.MsgId === 'string' && typeof v.ConversationID === 'string';
}

/** Parses pushed JSON: one MsgData, or an array of them (poll with `batch`). Null if malformed. */
export function parseMessages(text: string): MsgData[] | null {
  const value = parse(text);
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.every(isMsgData) ? items : null;
}

/**
 * One WebSocket text frame: messages, an event (an object with an `Event` key), `ignored` for
 * an event this client does not know (a newer server may add some), or null if malformed.
 */
export type PushFrame =
  | { readonly kind: 'messages'; readonly messages: MsgData[] }
  | { readonly kind: 'event'; readonly event: PushEvent }
  | { readonly kind: 'ignored' };

export function parseFrame(text: string): PushFrame | null {
  const value = parse(text);
  if (typeof value === 'object' && value !== null && 'Event' in value) {
    return eventFrame(value as Record<string, unknown>);
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.every(isMsgData) ? { kind: 'messages', messages: items } : null;
}

/** An SSE event's data, named `name` by its `event:` line; as `parseFrame` for events. */
export function parseSseEvent(name: string, data: string): PushFrame | null {
  if (!EVENT_NAMES.has(name)) return { kind: 'ignored' };
  const value = parse(data);
  if (typeof value !== 'object' || value === null || (value as { Event?: unknown }).Event !== name)
    return null;
  return eventFrame(value as Record<string, unknown>);
}

/** Whether `name` is an event frame's name, as opposed to one of the stream's closing events. */
export function isEventName(name: string): boolean {
  return EVENT_NAMES.has(name);
}

const EVENT_NAMES: ReadonlySet<string> = new Set(['read', 'joined', 'left']);

function eventFrame(v: Record<string, unknown>): PushFrame | null {
  if (typeof v.Event !== 'string') return null;
  if (!EVENT_NAMES.has(v.Event)) return { kind: 'ignored' };
  if (typeof v.ConversationID !== 'string') return null;
  const event = v as unknown as PushEvent;
  switch (event.Event) {
    case 'read':
      return isReadEvent(event) ? { kind: 'event', event } : null;
    case 'joined':
    case 'left':
      return isMembershipEvent(event) ? { kind: 'event', event } : null;
  }
}

function isReadEvent(e: ReadEvent): boolean {
  return typeof e.Session === 'string' && typeof e.ReadMsgId === 'string';
}

function isMembershipEvent(e: JoinedEvent | LeftEvent): boolean {
  const sessions = e.Sessions as unknown;
  if (!Array.isArray(sessions) || !sessions.every((s) => typeof s === 'string')) return false;
  return e.Event === 'joined' || typeof e.Kicked === 'boolean';
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
