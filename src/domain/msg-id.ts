/**
 * MsgId: 16 symbols of a 32-letter alphabet in ASCII order, shown as `XXXXX-XXXX-XXXX-XXX`,
 * so string order equals numeric order. 80 bits: 45 bits of milliseconds since the Unix epoch,
 * 20 bits of sequence within that millisecond, 15 bits naming the node that allocated it.
 */
export const MSG_ID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const MSG_ID_PATTERN =
  '^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{3}$';
const msgIdRegExp = new RegExp(MSG_ID_PATTERN);

const TIME_SYMBOLS = 9;
const LOW_SYMBOLS = 7;
const SEQ_BITS = 20;
const NODE_BITS = 15;
const MAX_SEQ = 2 ** SEQ_BITS - 1;
export const MAX_NODE_ID = 2 ** NODE_BITS - 1;
const MAX_TIME = 2 ** (TIME_SYMBOLS * 5) - 1;
/** Where the node's three symbols start in `XXXXX-XXXX-XXXX-XXX` (15 node bits = 3 symbols). */
const NODE_OFFSET = 16;

const symbolValue = new Map<string, number>([...MSG_ID_ALPHABET].map((c, i) => [c, i]));

export interface MsgIdParts {
  readonly timeMs: number;
  readonly seq: number;
  readonly node: number;
}

export function isMsgId(value: unknown): value is string {
  return typeof value === 'string' && msgIdRegExp.test(value);
}

/** Character codes of the alphabet, and of the id being formatted (reused: one thread). */
const symbolCodes = Array.from(MSG_ID_ALPHABET, (c) => c.charCodeAt(0));
const DASH = '-'.charCodeAt(0);
const codes: number[] = new Array<number>(19).fill(DASH);
/** Where each of the 16 symbols goes in `XXXXX-XXXX-XXXX-XXX`. */
const symbolAt = [0, 1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18];

function encodeSymbols(value: number, first: number, count: number): void {
  for (let i = first + count - 1; i >= first; i--) {
    codes[symbolAt[i] as number] = symbolCodes[value % 32] as number;
    value = Math.floor(value / 32);
  }
}

export function formatMsgId(parts: MsgIdParts): string {
  encodeSymbols(parts.timeMs, 0, TIME_SYMBOLS);
  encodeSymbols(parts.seq * 2 ** NODE_BITS + parts.node, TIME_SYMBOLS, LOW_SYMBOLS);
  return String.fromCharCode(...codes);
}

/** Parses a well-formed id; throws on anything `isMsgId` rejects. */
export function parseMsgId(id: string): MsgIdParts {
  if (!isMsgId(id)) throw new Error('malformed MsgId');
  const raw = id.replaceAll('-', '');
  let time = 0;
  let low = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = symbolValue.get(raw[i] as string) as number;
    if (i < TIME_SYMBOLS) time = time * 32 + v;
    else low = low * 32 + v;
  }
  const nodeDiv = 2 ** NODE_BITS;
  return { timeMs: time, seq: Math.floor(low / nodeDiv), node: low % nodeDiv };
}

function isAfter(aTime: number, aSeq: number, bTime: number, bSeq: number): boolean {
  return aTime > bTime || (aTime === bTime && aSeq > bSeq);
}

/**
 * Allocates ids for one node. Every id it returns is greater, in (time, seq), than every id
 * it returned before, so the node bits make ids unique across nodes; and greater than the
 * `floor` it is given, so ids rise strictly within a conversation even across clock skew.
 */
export class MsgIdAllocator {
  private lastTime = 0;
  private lastSeq = 0;

  constructor(
    readonly node: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(node) || node < 0 || node > MAX_NODE_ID) {
      throw new RangeError(`node id must be an integer 0..${MAX_NODE_ID}`);
    }
  }

  /** The next id, strictly greater than `floor` (the conversation's last id) when given. */
  next(floor?: string | null): string {
    const time = Math.min(this.clock(), MAX_TIME);
    const id = isAfter(time, 0, this.lastTime, this.lastSeq)
      ? this.take(time, 0)
      : this.take(this.lastTime, this.lastSeq + 1);
    // The last three symbols are the node bits alone, so comparing what precedes them compares
    // (time, seq): the floor is parsed only when it is not already below the candidate.
    if (!floor || floor.slice(0, NODE_OFFSET) < id.slice(0, NODE_OFFSET)) return id;
    const f = parseMsgId(floor);
    return this.take(f.timeMs, f.seq + 1);
  }

  /** Records (time, seq) as the last id issued, rolling a full sequence over, and formats it. */
  private take(time: number, seq: number): string {
    if (seq > MAX_SEQ) {
      time += 1;
      seq = 0;
    }
    this.lastTime = time;
    this.lastSeq = seq;
    return formatMsgId({ timeMs: time, seq, node: this.node });
  }
}

/** The greatest possible id smaller than `id`: a cursor from which a replay includes `id`. */
export function msgIdBefore(id: string): string {
  const { timeMs, seq, node } = parseMsgId(id);
  if (node > 0) return formatMsgId({ timeMs, seq, node: node - 1 });
  if (seq > 0) return formatMsgId({ timeMs, seq: seq - 1, node: MAX_NODE_ID });
  return formatMsgId({ timeMs: Math.max(0, timeMs - 1), seq: MAX_SEQ, node: MAX_NODE_ID });
}
