import type { Bus } from '../bus/bus.js';
import { ErrorCode, ImError } from '../domain/errors.js';
import type { PresenceReader } from '../domain/presence.js';
import type { CursorStore } from '../store/store.js';
import type { ConversationService } from './conversation-service.js';

/** Members per page of `/get_conversation_members` and `/inner/get_members`. */
export const MEMBER_PAGE = 500;

/** One entry of `/get_conversation_list`, with the contract's field names and order. */
export interface ConversationListEntry {
  readonly ConversationID: string;
  readonly ConversationType: number;
  readonly IsArchive: boolean;
  readonly LastMsgID: string | null;
  readonly LastSendTime: number | null;
  readonly LastSendSession: string | null;
  readonly ReadMsgId: string | null;
  readonly Unread: number;
}

export interface ConversationList {
  /** Sum of every entry's `Unread`. */
  readonly Total: number;
  readonly Conversations: readonly ConversationListEntry[];
}

export interface MemberPage {
  readonly ConversationID: string;
  readonly Members: readonly {
    readonly Session: string;
    readonly ReadMsgId: string | null;
    readonly Online: boolean;
  }[];
  /** The last session of a full page (pass it as `after`), else null. */
  readonly Next: string | null;
}

/** Read cursors, the conversation list with unread counts, member pages; knows nothing of HTTP. */
export class ReadStateService {
  constructor(
    private readonly store: CursorStore,
    private readonly bus: Bus,
    private readonly conversations: ConversationService,
    private readonly presence: PresenceReader,
    private readonly onBusError: (err: unknown) => void,
  ) {}

  /**
   * Moves `session`'s cursor (see `CursorStore.markRead`) and resolves with it after the
   * commit; when it moved, then announces a `read` event (a live hint: a bus failure loses
   * only the hint, never the cursor).
   */
  async markRead(conversationId: string, session: string, msgId: string): Promise<string | null> {
    const result = await this.store.markRead(conversationId, session, msgId);
    if (result.kind === 'not-found') throw new ImError(ErrorCode.ConversationNotFound);
    if (result.kind === 'not-member') throw new ImError(ErrorCode.NotMember);
    if (result.advanced && result.readMsgId !== null) {
      this.bus
        .publish({ type: 'read', conversationId, session, readMsgId: result.readMsgId })
        .catch(this.onBusError);
    }
    return result.readMsgId;
  }

  /** Every conversation of `session`, newest message first, with unread counts. */
  async conversationList(session: string): Promise<ConversationList> {
    const summaries = await this.store.conversationSummaries(session);
    let total = 0;
    const entries = summaries.map((s): ConversationListEntry => {
      total += s.unread;
      return {
        ConversationID: s.conversationId,
        ConversationType: s.type,
        IsArchive: s.isArchive,
        LastMsgID: s.lastMsgId,
        LastSendTime: s.lastSendTime,
        LastSendSession: s.lastSendSession,
        ReadMsgId: s.readMsgId,
        Unread: s.unread,
      };
    });
    return { Total: total, Conversations: entries };
  }

  /** A page of members for a member of the conversation (10004 / 10005 otherwise). */
  async membersFor(
    session: string,
    conversationId: string,
    after: string | null,
  ): Promise<MemberPage> {
    await this.conversations.requireMember(conversationId, session);
    return this.members(conversationId, after);
  }

  /** Up to `MEMBER_PAGE` current members after `after` in byte order; 10005 for no conversation. */
  async members(conversationId: string, after: string | null): Promise<MemberPage> {
    const page = await this.store.memberCursors(conversationId, after, MEMBER_PAGE);
    if (page === undefined) throw new ImError(ErrorCode.ConversationNotFound);
    return {
      ConversationID: conversationId,
      Members: page.map((m) => ({
        Session: m.session,
        ReadMsgId: m.readMsgId,
        Online: this.presence.platformsOf(m.session).length > 0,
      })),
      Next: page.length === MEMBER_PAGE ? (page[page.length - 1]?.session ?? null) : null,
    };
  }
}
