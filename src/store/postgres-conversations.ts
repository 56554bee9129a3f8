import type { PoolClient } from 'pg';
import { conversationDetail } from './conversation-row.js';
import type { ConversationRow } from './conversation-row.js';
import { MemberState } from './member-state.js';
import {
  changeEvent,
  distinct,
  missingIds,
  selfJoinRefusal,
  sessionsChanged,
} from './membership-changes.js';
import type { PostgresDatabase } from './postgres-database.js';
import { ADMIT, GET_CONVERSATION, IS_MEMBER, JOINED } from './postgres-statements.js';
import { insertOutboxRow } from './postgres-webhook-outbox.js';
import type { ConversationDetail } from '../domain/conversation.js';
import type { ConversationStore, SelfJoinResult } from './store.js';
import type { MembershipEventOf, OutboxDraft } from './webhook-outbox.js';

const { Member, Left, Kicked } = MemberState;

async function exists(c: PoolClient, conversationId: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [
    conversationId,
  ]);
  return rowCount === 1;
}

async function setState(
  c: PoolClient,
  conversationId: string,
  sessions: readonly string[],
  state: MemberState,
): Promise<void> {
  if (sessions.length === 0) return;
  await c.query(
    `INSERT INTO members (conversation_id, session, state)
     SELECT $1, s, $3 FROM unnest($2::text[]) AS s
     ON CONFLICT (conversation_id, session) DO UPDATE SET state = excluded.state`,
    [conversationId, distinct(sessions), state],
  );
}

/** Makes sessions members, each new one with the conversation's last id as its cursor. */
async function admit(
  c: PoolClient,
  conversationId: string,
  sessions: readonly string[],
): Promise<void> {
  if (sessions.length === 0) return;
  await c.query(ADMIT, [conversationId, distinct(sessions)]);
}

/**
 * `PostgresStore`'s conversations and their members. Each change runs in a transaction of its
 * own with its outbox row, and takes the conversation's row lock first, so the membership
 * changes of one conversation are ordered and what they read is current.
 */
export class PostgresConversations implements ConversationStore {
  constructor(private readonly db: PostgresDatabase) {}

  createConversation(
    conversationId: string,
    type: number,
    sessions: readonly string[],
    event?: OutboxDraft,
  ): Promise<void> {
    return this.db.tx(async (c) => {
      await c.query('INSERT INTO conversations (id, type) VALUES ($1, $2)', [conversationId, type]);
      await admit(c, conversationId, sessions);
      if (event) await insertOutboxRow(c, event);
    });
  }

  async getConversation(conversationId: string): Promise<ConversationDetail | undefined> {
    const [row] = await this.db.rows<ConversationRow>(GET_CONVERSATION, [conversationId]);
    return conversationDetail(row);
  }

  async isMember(conversationId: string, session: string): Promise<boolean | undefined> {
    const [row] = await this.db.rows<{ state: number | null }>(IS_MEMBER, [
      conversationId,
      session,
    ]);
    return row ? row.state === Member : undefined;
  }

  async joinedConversations(session: string): Promise<string[]> {
    const rows = await this.db.rows<{ conversation_id: string }>(JOINED, [session]);
    return rows.map((r) => r.conversation_id);
  }

  joinBySelf(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<SelfJoinResult> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return 'not-found';
      const { rows } = await c.query<{ state: number }>(
        'SELECT state FROM members WHERE conversation_id = $1 AND session = $2',
        [conversationId, session],
      );
      const refusal = selfJoinRefusal(rows[0]?.state);
      if (refusal) return refusal;
      await admit(c, conversationId, [session]);
      if (event) await insertOutboxRow(c, event([session]));
      return 'joined';
    });
  }

  joinByInner(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.change(conversationId, sessions, true, event, (c, changed) =>
      admit(c, conversationId, changed),
    );
  }

  kick(
    conversationId: string,
    sessions: readonly string[],
    event?: MembershipEventOf,
  ): Promise<string[] | undefined> {
    return this.change(conversationId, sessions, false, event, (c) =>
      setState(c, conversationId, distinct(sessions), Kicked),
    );
  }

  leave(
    conversationId: string,
    session: string,
    event?: MembershipEventOf,
  ): Promise<boolean | undefined> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return undefined;
      const { rowCount } = await c.query(
        `UPDATE members SET state = ${Left} WHERE conversation_id = $1 AND session = $2 AND state = ${Member}`,
        [conversationId, session],
      );
      const left = (rowCount ?? 0) > 0;
      if (left && event) await insertOutboxRow(c, event([session]));
      return left;
    });
  }

  setArchived(conversationIds: readonly string[], isArchive: boolean): Promise<string[]> {
    const ids = distinct(conversationIds);
    return this.db.tx(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'SELECT id FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
        [ids],
      );
      const found = new Set(rows.map((r) => r.id));
      const missing = missingIds(ids, (id) => found.has(id));
      if (missing.length > 0) return missing;
      await c.query('UPDATE conversations SET is_archive = $2 WHERE id = ANY($1::text[])', [
        ids,
        isArchive,
      ]);
      return [];
    });
  }

  /**
   * Runs `change` with the conversation locked, if it exists; resolves with the sessions whose
   * membership it changes (see `sessionsChanged`), with `event` of those in the outbox when
   * there are any.
   */
  private change(
    conversationId: string,
    sessions: readonly string[],
    joining: boolean,
    event: MembershipEventOf | undefined,
    change: (c: PoolClient, changed: string[]) => Promise<void>,
  ): Promise<string[] | undefined> {
    return this.db.tx(async (c) => {
      if (!(await exists(c, conversationId))) return undefined;
      const { rows } = await c.query<{ session: string }>(
        `SELECT session FROM members
         WHERE conversation_id = $1 AND session = ANY($2::text[]) AND state = ${Member}`,
        [conversationId, distinct(sessions)],
      );
      const members = new Set(rows.map((r) => r.session));
      const changed = sessionsChanged(sessions, (s) => members.has(s), joining);
      await change(c, changed);
      const outboxRow = changeEvent(event, changed);
      if (outboxRow) await insertOutboxRow(c, outboxRow);
      return changed;
    });
  }
}
