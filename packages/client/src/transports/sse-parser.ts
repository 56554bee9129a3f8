/** One dispatched Server-Sent Event. */
export interface SseMessage {
  /** `event:` field; `message` when the event named none. */
  readonly event: string;
  /** `data:` fields joined with `\n`. */
  readonly data: string;
  /** The last `id:` seen so far in the stream (it persists across events), or null. */
  readonly id: string | null;
}

const LF = 10;
const CR = 13;

/**
 * Incremental `text/event-stream` parser (the WHATWG "event stream interpretation"): text may
 * be pushed in chunks split anywhere, even between the CR and LF of one line end. Lines end in
 * CRLF, LF or CR; `:` lines are comments; an event is dispatched at a blank line, and only if it
 * had data; `retry:` and unknown fields are ignored. A leading BOM must already be stripped
 * (TextDecoder does so by default).
 */
export class SseParser {
  private partial = '';
  /** The previous chunk ended in CR: an LF opening the next chunk belongs to that line end. */
  private afterCr = false;
  private eventName = '';
  private dataLines: string[] = [];
  private lastId: string | null = null;

  /**
   * @param onEvent called for every complete event, in stream order
   * @param onComment called for every comment line (heartbeats), with the text after `:`
   */
  constructor(
    private readonly onEvent: (event: SseMessage) => void,
    private readonly onComment: (text: string) => void = () => {},
  ) {}

  /** Feeds the next piece of decoded text. */
  push(chunk: string): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF && i === 0 && this.afterCr) {
        start = 1;
        this.afterCr = false;
        continue;
      }
      this.afterCr = false;
      if (c !== LF && c !== CR) continue;
      const line = this.partial + chunk.slice(start, i);
      this.partial = '';
      if (c === CR) {
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === LF) i++;
        } else {
          this.afterCr = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    this.partial += chunk.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    const name = this.eventName;
    const data = this.dataLines;
    this.eventName = '';
    this.dataLines = [];
    if (data.length === 0) return;
    this.onEvent({ event: name === '' ? 'message' : name, data: data.join('\n'), id: this.lastId });
  }
}
