import type { PoolClient } from 'pg';
import type { PostgresDatabase } from './postgres-database.js';
import {
  COUNT_OUTBOX,
  DELETE_OUTBOX,
  INSERT_OUTBOX,
  LEASE_OUTBOX,
  RETRY_OUTBOX,
  prepared,
} from './postgres-statements.js';
import type { OutboxDraft, OutboxEvent } from './webhook-outbox.js';

/** Writes a webhook event inside the transaction of `c` (what it reports). */
export async function insertOutboxRow(c: PoolClient, e: OutboxDraft): Promise<void> {
  await c.query(prepared(INSERT_OUTBOX, [e.id, e.conversationId, e.body, e.createdAtMs]));
}

/** `PostgresStore`'s webhook outbox: leased row by row, so each event has one sender at a time. */
export class PostgresWebhookOutbox {
  constructor(private readonly db: PostgresDatabase) {}

  async lease(
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
    limit: number,
  ): Promise<OutboxEvent[]> {
    const rows = await this.db.rows<{
      seq: number;
      id: string;
      conversation_id: string;
      body: string;
      created_at: number;
      attempts: number;
    }>(LEASE_OUTBOX, [owner, nowMs, leaseUntilMs, limit]);
    return rows
      .sort((a, b) => a.seq - b.seq)
      .map((r) => ({
        id: r.id,
        conversationId: r.conversation_id,
        body: r.body,
        createdAtMs: r.created_at,
        attempts: r.attempts,
      }));
  }

  async delete(id: string): Promise<void> {
    await this.db.query(DELETE_OUTBOX, [id]);
  }

  async retry(id: string, attempts: number, nextAttemptAtMs: number): Promise<void> {
    await this.db.query(RETRY_OUTBOX, [id, attempts, nextAttemptAtMs]);
  }

  async count(): Promise<number> {
    const [row] = await this.db.rows<{ n: number }>(COUNT_OUTBOX, []);
    return row?.n ?? 0;
  }
}
