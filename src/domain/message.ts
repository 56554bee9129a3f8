/** A stored message, with the contract's `MsgData` field names. */
export interface Message {
  readonly MsgId: string;
  readonly ConversationID: string;
  readonly FromSession: string;
  /** Microseconds since the Unix epoch, set by the server. */
  readonly SendTime: number;
  readonly Status: number;
  readonly Type: number;
  readonly Content: string;
}

/** Serializes with the contract's exact key order; the same string serves every recipient. */
export function serializeMessage(m: Message): string {
  return JSON.stringify({
    MsgId: m.MsgId,
    ConversationID: m.ConversationID,
    FromSession: m.FromSession,
    SendTime: m.SendTime,
    Status: m.Status,
    Type: m.Type,
    Content: m.Content,
  });
}

const origin = performance.timeOrigin;

/** Current time in integer microseconds since the Unix epoch. */
export function nowMicros(): number {
  return Math.floor((origin + performance.now()) * 1000);
}
