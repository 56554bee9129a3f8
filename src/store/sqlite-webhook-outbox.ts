import type Database from 'better-sqlite3';
import type { OutboxDraft, OutboxEvent } from './webhook-outbox.js';

interface OutboxRow {
  seq: number;
  id: string;
  conversation_id: string;
  body: string;
  created_at: number;
  attempts: number;
}

/**
 * `SqliteStore`'s webhook outbox statements, prepared once on its connection. One process
 * writes a SQLite file, so a lease only keeps this node's worker from taking an event it
 * already has in flight, and every lease is released at open.
 */
export class SqliteWebhookOutbox {
  private readonly insertRow: Database.Statement<[string, string, string, number, number]>;
  private readonly due: Database.Statement<[{ now: number; limit: number }], OutboxRow>;
  private readonly setLease: Database.Statement<[string, number, number]>;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly retryRow: Database.Statement<[number, number, string]>;
  private readonly countRows: Database.Statement<[], { n: number }>;
  private readonly leaseRows: (owner: string, until: number, rows: readonly OutboxRow[]) => void;

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(
      `INSERT INTO webhook_outbox (id, conversation_id, body, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    // Each conversation's oldest event (from the (conversation_id, seq) index), if it is due
    // and not leased.
    this.due = db.prepare(
      `SELECT o.seq, o.id, o.conversation_id, o.body, o.created_at, o.attempts
       FROM (SELECT min(seq) AS seq FROM webhook_outbox GROUP BY conversation_id) h
       JOIN webhook_outbox o ON o.seq = h.seq
       WHERE o.next_attempt_at <= @now AND (o.lease_until IS NULL OR o.lease_until <= @now)
       ORDER BY o.seq LIMIT @limit`,
    );
    this.setLease = db.prepare(
      'UPDATE webhook_outbox SET lease_owner = ?, lease_until = ? WHERE seq = ?',
    );
    this.deleteRow = db.prepare('DELETE FROM webhook_outbox WHERE id = ?');
    this.retryRow = db.prepare(
      `UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?,
         lease_owner = NULL, lease_until = NULL WHERE id = ?`,
    );
    this.countRows = db.prepare('SELECT count(*) AS n FROM webhook_outbox');
    // One process writes the file: a lease found at open is a dead process's, whose delivery
    // never finished. Its events are sent again at once.
    db.prepare(
      'UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_until IS NOT NULL',
    ).run();
    this.leaseRows = db.transaction((owner: string, until: number, rows: readonly OutboxRow[]) => {
      for (const r of rows) this.setLease.run(owner, until, r.seq);
    });
  }

  /** Inside the transaction of what it reports. */
  insert(e: OutboxDraft): void {
    this.insertRow.run(e.id, e.conversationId, e.body, e.createdAtMs, e.createdAtMs);
  }

  /**
   * Reads, then (only when something is due) leases in one transaction. This connection is
   * the file's only writer and nothing runs between the two, so no one can lease in between;
   * an idle poll writes nothing.
   */
  lease(owner: string, nowMs: number, leaseUntilMs: number, limit: number): OutboxEvent[] {
    const rows = this.due.all({ now: nowMs, limit });
    if (rows.length === 0) return [];
    this.leaseRows(owner, leaseUntilMs, rows);
    return rows.map((r) => ({
      id: r.id,
      conversationId: r.conversation_id,
      body: r.body,
      createdAtMs: r.created_at,
      attempts: r.attempts,
    }));
  }

  delete(id: string): void {
    this.deleteRow.run(id);
  }

  retry(id: string, attempts: number, nextAttemptAtMs: number): void {
    this.retryRow.run(attempts, nextAttemptAtMs, id);
  }

  count(): number {
    return this.countRows.get()?.n ?? 0;
  }
}
