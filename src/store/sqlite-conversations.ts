import type Database from 'better-sqlite3';
import type { ConversationDetail } from '../domain/conversation.js';
import { conversationDetail } from './conversation-row.js';
import { MemberState } from './member-state.js';
import {
  changeEvent,
  distinct,
  missingIds,
  selfJoinRefusal,
  sessionsChanged,
} from './membership-changes.js';
import type { SqliteAppender } from './sqlite-appender.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { SqliteWebhookOutbox } from './sqlite-webhook-outbox.js';
import type { SelfJoinResult } from './store.js';
import type { MembershipEventOf, OutboxDraft } from './webhook-outbox.js';

/**
 * `SqliteStore`'s conversations and their members (see `ConversationStore`). Each change runs
 * in a transaction of its own with its outbox row; every member row it changes is first
 * dropped from the appender's cache (even if the transaction rolls back).
 */
export class SqliteConversations {
  constructor(
    private readonly db: Database.Database,
    private readonly q: SqliteStatements,
    private readonly outbox: SqliteWebhookOutbox,
    private readonly cache: Pick<SqliteAppender, 'forgetMember'>,
  ) {}

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): void {
    this.db.transaction(() => {
      this.q.insertConversation.run(conversationId, type);
      this.admit(conversationId, sessions);
      if (event) this.outbox.insert(event);
    })();
  }

  getConversation(conversationId: string): ConversationDetail | undefined {
    return conversationDetail(this.q.getConversation.get(conversationId));
  }

  isMember(conversationId: string, session: string): boolean | undefined {
    const row = this.q.appendCheck.get(session, conversationId);
    if (!row) return undefined;
    return row.state === MemberState.Member;
  }

  joinedConversations(session: string): string[] {
    return this.q.joined.all(session).map((r) => r.conversation_id);
  }

  joinBySelf(conversationId: string, session: string, event?: MembershipEventOf): SelfJoinResult {
    return this.db.transaction((): SelfJoinResult => {
      const row = this.q.appendCheck.get(session, conversationId);
      if (!row) return 'not-found';
      const refusal = selfJoinRefusal(row.state);
      if (refusal) return refusal;
      this.admit(conversationId, [session]);
      if (event) this.outbox.insert(event([session]));
      return 'joined';
    })();
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): string[] | undefined {
    return this.change(conversationId, sessions, true, event, (changed) =>
      this.admit(conversationId, changed),
    );
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): string[] | undefined {
    return this.change(conversationId, sessions, false, event, () =>
      this.setState(conversationId, distinct(sessions), MemberState.Kicked),
    );
  }

  leave(conversationId: string, session: string, event?: MembershipEventOf): boolean | undefined {
    return this.db.transaction(() => {
      if (!this.q.exists.get(conversationId)) return undefined;
      this.cache.forgetMember(conversationId, session);
      const left = this.q.leave.run(conversationId, session).changes > 0;
      if (left && event) this.outbox.insert(event([session]));
      return left;
    })();
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): string[] {
    return this.db.transaction(() => {
      const missing = missingIds(conversationIds, (id) => this.q.exists.get(id) !== undefined);
      if (missing.length > 0) return missing;
      for (const id of conversationIds) this.q.setArchive.run(isArchive ? 1 : 0, id);
      return [];
    })();
  }

  /**
   * Runs `change` in a transaction if the conversation exists; returns the sessions whose
   * membership it changes (see `sessionsChanged`), with `event` of those in the outbox when
   * there are any.
   */
  private change(
    conversationId: string,
    sessions: readonly string[],
    joining: boolean,
    event: MembershipEventOf | undefined,
    change: (changed: string[]) => void,
  ): string[] | undefined {
    return this.db.transaction(() => {
      if (!this.q.exists.get(conversationId)) return undefined;
      const changed = sessionsChanged(
        sessions,
        (s) => this.q.appendCheck.get(s, conversationId)?.state === MemberState.Member,
        joining,
      );
      change(changed);
      const outboxRow = changeEvent(event, changed);
      if (outboxRow) this.outbox.insert(outboxRow);
      return changed;
    })();
  }

  private setState(conversationId: string, sessions: readonly string[], state: MemberState): void {
    for (const s of sessions) {
      this.cache.forgetMember(conversationId, s);
      this.q.upsertMember.run(conversationId, s, state);
    }
  }

  /** Makes sessions members, each new one with the conversation's last id as its cursor. */
  private admit(conversationId: string, sessions: readonly string[]): void {
    const last = this.q.lastMsgId.get(conversationId)?.last_msg_id ?? null;
    for (const s of sessions) {
      this.cache.forgetMember(conversationId, s);
      this.q.joinMember.run(conversationId, s, last);
    }
  }
}
