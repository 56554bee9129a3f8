/**
 * One message as it goes out: serialized once, shared by every recipient. The SSE and
 * WebSocket encodings are built on first use and reused for all later recipients.
 */
export class Frame {
  private sse: Buffer | undefined;
  private text: Buffer | undefined;

  constructor(
    readonly msgId: string,
    readonly conversationId: string,
    /** `MsgData` JSON. */
    readonly json: string,
  ) {}

  /** Approximate bytes this frame holds in a queue. */
  get size(): number {
    return this.json.length + 64;
  }

  /** The JSON as UTF-8, for WebSocket text frames. */
  get utf8(): Buffer {
    return (this.text ??= Buffer.from(this.json, 'utf8'));
  }

  /** `id:`, `event: message`, `data:` and a blank line. */
  get sseEvent(): Buffer {
    return (this.sse ??= Buffer.from(
      `id: ${this.msgId}\nevent: message\ndata: ${this.json}\n\n`,
      'utf8',
    ));
  }
}
