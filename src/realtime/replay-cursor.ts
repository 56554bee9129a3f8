import { serializeMessage } from '../domain/message.js';
import type { MessageRef, Store } from '../store/store.js';
import { Frame } from './frame.js';

/** The store reads a resume replay makes: its plan (ids only), then pages of contents. */
export type ReplayStore = Pick<Store, 'missedMessageRefs' | 'rangeFromStart'>;

/** Most messages one page holds: a poll's largest batch answers from one page. */
export const PAGE_MAX_MESSAGES = 100;
/** Messages the first page reads, before the size of one is known. */
const FIRST_PAGE_MESSAGES = 10;

/**
 * A resume replay read from the store as its connection drains, never whole: it is planned from
 * ids only (`missedMessageRefs`), then message contents are read a page at a time, a page only
 * once the wire asked for frames the cursor does not hold. It holds one page: at most
 * `PAGE_MAX_MESSAGES` messages and about `budgetBytes` (the slow-consumer byte limit, counted as
 * `Frame.size`): the first page reads `FIRST_PAGE_MESSAGES`, each later one is sized from the
 * messages read so far and exceeds the budget by one message at most.
 */
export class ReplayCursor {
  /** Index in `refs` of the first message not yet read. */
  private next = 0;
  private page: Frame[] = [];
  private pageBytes = 0;
  private readBytes = 0;
  private readCount = 0;
  /** Frames the last `take` asked for and the page could not give; 0 when none is awaited. */
  private wanted = 0;
  private reading: Promise<number> | null = null;

  private constructor(
    private readonly store: ReplayStore,
    private readonly refs: readonly MessageRef[],
    private readonly budgetBytes: number,
  ) {}

  /** Plans the replay of what `session` missed after `afterId`: the newest `limit` messages. */
  static async plan(
    store: ReplayStore,
    session: string,
    afterId: string,
    limit: number,
    budgetBytes: number,
  ): Promise<ReplayCursor> {
    const refs = await store.missedMessageRefs(session, afterId, limit);
    return new ReplayCursor(store, refs, budgetBytes);
  }

  /** Messages the replay holds in all, sent or not. */
  get length(): number {
    return this.refs.length;
  }

  /** Per conversation, the newest id the replay holds: a live message at or below it is in it. */
  newestByConversation(): Map<string, string> {
    const upTo = new Map<string, string>();
    for (const r of this.refs) upTo.set(r.conversationId, r.msgId);
    return upTo;
  }

  /** True when a `take` is waiting for a page and no read is in flight: call `read`. */
  get wantsRead(): boolean {
    return this.wanted > 0 && this.reading === null;
  }

  /**
   * The next frames, in MsgId order, for a wire that takes `max`: up to `max` of them; null
   * when the page holds fewer than asked while more are to be read (then `wantsRead`); empty
   * once everything was taken.
   */
  take(max: number): Frame[] | null {
    const want = Math.min(max, PAGE_MAX_MESSAGES);
    const more = this.next < this.refs.length;
    if (this.page.length < want && more && this.pageBytes < this.budgetBytes) {
      this.wanted = want;
      return null;
    }
    this.wanted = 0;
    const frames = this.page.length <= max ? this.page : this.page.slice(0, max);
    this.page = frames === this.page ? [] : this.page.slice(max);
    for (const f of frames) this.pageBytes -= f.size;
    return frames;
  }

  /**
   * Reads the next page from the store onto the page held; resolves with how many messages it
   * read. Calls made while one is in flight share it. Rejects if the store fails.
   */
  read(): Promise<number> {
    this.reading ??= this.readPage().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async readPage(): Promise<number> {
    const count = this.pageCount();
    const refs = this.refs.slice(this.next, this.next + count);
    if (refs.length === 0) return 0;
    const frames: Frame[] = [];
    const reads = runsByConversation(refs).map(async (run) => {
      const messages = await this.store.rangeFromStart(
        run.conversationId,
        run.firstId,
        run.lastId,
        run.count,
      );
      for (const m of messages)
        frames.push(new Frame(m.MsgId, m.ConversationID, serializeMessage(m)));
    });
    await Promise.all(reads);
    frames.sort((a, b) => (a.msgId < b.msgId ? -1 : 1));
    this.next += refs.length;
    for (const f of frames) {
      this.page.push(f);
      this.pageBytes += f.size;
      this.readBytes += f.size;
    }
    this.readCount += frames.length;
    return frames.length;
  }

  /** How many messages the next page reads: what fits the budget at the size read so far. */
  private pageCount(): number {
    const room = PAGE_MAX_MESSAGES - this.page.length;
    const fits =
      this.readCount === 0
        ? FIRST_PAGE_MESSAGES
        : Math.floor((this.budgetBytes - this.pageBytes) / (this.readBytes / this.readCount));
    return Math.max(1, Math.min(room, fits, this.refs.length - this.next));
  }
}

interface Run {
  readonly conversationId: string;
  readonly firstId: string;
  lastId: string;
  count: number;
}

/** Refs (ascending) grouped by conversation: each group is a range of that conversation's ids. */
function runsByConversation(refs: readonly MessageRef[]): Run[] {
  const runs = new Map<string, Run>();
  for (const r of refs) {
    const run = runs.get(r.conversationId);
    if (run === undefined) {
      runs.set(r.conversationId, {
        conversationId: r.conversationId,
        firstId: r.msgId,
        lastId: r.msgId,
        count: 1,
      });
    } else {
      run.lastId = r.msgId;
      run.count++;
    }
  }
  return [...runs.values()];
}
