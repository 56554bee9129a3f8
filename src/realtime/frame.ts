/**
 * One message — or one event of the opt-in event stream — as it goes out: serialized once,
 * shared by every recipient. The SSE and WebSocket encodings are built on first use and reused
 * for all later recipients.
 */
export class Frame {
  private sse: Buffer | undefined;
  private ws: Buffer | undefined;
  private utf8Bytes: number | undefined;

  constructor(
    /** The message's id; empty for an event, which has no place in the message order. */
    readonly msgId: string,
    readonly conversationId: string,
    /** `MsgData` JSON, or the event's JSON object. */
    readonly json: string,
    /** The event's name (`Event` in its JSON, `event:` on SSE); null for a message. */
    readonly event: string | null = null,
  ) {}

  /** An event frame: `json` holds `"Event": name`; only connections opened with `events=1` get it. */
  static event(name: string, conversationId: string, json: string): Frame {
    return new Frame('', conversationId, json, name);
  }

  /** The JSON's length in UTF-8 bytes, as it goes on the wire: counted once, for every recipient. */
  get bytes(): number {
    return (this.utf8Bytes ??= Buffer.byteLength(this.json, 'utf8'));
  }

  /** Bytes this frame costs in a queue: its UTF-8 JSON and an allowance for the frame around it. */
  get size(): number {
    return this.bytes + 64;
  }

  /**
   * The whole WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked as a server sends,
   * then the length), built once and written as is to every socket: one buffer and one write
   * per recipient instead of a header built and corked beside the payload for each.
   */
  get wsFrame(): Buffer {
    if (this.ws !== undefined) return this.ws;
    // The JSON is encoded straight into the frame: no separate payload buffer is kept.
    const n = this.bytes;
    const headerBytes = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(headerBytes + n);
    out[0] = 0x81;
    if (n < 126) {
      out[1] = n;
    } else if (n < 65536) {
      out[1] = 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 127;
      out.writeBigUInt64BE(BigInt(n), 2);
    }
    out.write(this.json, headerBytes, 'utf8');
    return (this.ws = out);
  }

  /**
   * A message: `id:`, `event: message`, `data:` and a blank line. An event: `event: <name>`,
   * `data:` and a blank line — no `id:`, so it never moves the client's `Last-Event-ID`.
   */
  get sseEvent(): Buffer {
    return (this.sse ??= Buffer.from(
      this.event === null
        ? `id: ${this.msgId}\nevent: message\ndata: ${this.json}\n\n`
        : `event: ${this.event}\ndata: ${this.json}\n\n`,
      'utf8',
    ));
  }
}
