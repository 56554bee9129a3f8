import type { MsgData, Transport } from '../types.js';
import type { ConnectParams } from './transport.js';

/**
 * The `/notify` URL for `protoc`, with `last_msg_id` when there is a resume point and the
 * `extra` parameters that are defined. ws URLs use the ws:/wss: scheme.
 */
export function notifyUrl(
  params: ConnectParams,
  protoc: Transport,
  extra: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const query = new URLSearchParams({ protoc });
  if (params.lastMsgId !== null) query.set('last_msg_id', params.lastMsgId);
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
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return null;
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.every(isMsgData) ? items : null;
}
