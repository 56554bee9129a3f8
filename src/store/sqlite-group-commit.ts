import type Database from 'better-sqlite3';
import { settle } from './sqlite-statements.js';

/** A write waiting for the next group commit; `run` executes inside that transaction. */
interface PendingWrite {
  readonly run: () => unknown;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: unknown) => void;
}

export interface GroupCommitHooks {
  /** Runs first inside every write transaction (the store checks its caches there). */
  readonly beforeWrite: () => void;
  /** A transaction rolled back: anything cached from its writes may be wrong. */
  readonly onRollback: () => void;
  /** After each group commit that succeeded. */
  readonly onCommit: () => void;
}

/**
 * Writes share transactions (natural group commit): every write that arrives while the event
 * loop works through one turn's I/O is committed together when the turn ends (`setImmediate`),
 * or at once when `maxWrites` are waiting. A write on an idle store commits within the turn it
 * arrived in — no fixed window to wait out — while a burst still shares one commit, and the
 * WAL is written once however many rows that commit holds. Each write resolves only after its
 * commit; one failing write fails no other.
 */
export class SqliteGroupCommit {
  // Built once: wrapping a function in a transaction costs as much as a small query.
  private readonly writeOne: (run: () => unknown) => unknown;
  private readonly writeBatch: (batch: readonly PendingWrite[]) => unknown[];
  private pending: PendingWrite[] = [];
  /** A commit is scheduled for the end of this turn. */
  private scheduled = false;
  /** Commits wait while this is set (see `holdWhile`). */
  private held = false;

  constructor(
    private readonly db: Database.Database,
    /** Most writes one commit holds; more arriving in the same turn start the next commit. */
    private readonly maxWrites: number,
    private readonly hooks: GroupCommitHooks,
  ) {
    this.writeOne = db.transaction((run: () => unknown) => {
      hooks.beforeWrite();
      return run();
    }).immediate;
    this.writeBatch = db.transaction((batch: readonly PendingWrite[]) => {
      hooks.beforeWrite();
      return batch.map((p) => p.run());
    }).immediate;
  }

  /** Queues a write for the next group commit; resolves with what `run` returned, once committed. */
  enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const write: PendingWrite = { run, resolve: resolve as (result: unknown) => void, reject };
      const waiting = this.pending.push(write);
      if (waiting >= this.maxWrites && !this.held) this.commit();
      else if (waiting === 1) this.schedule();
    });
  }

  /**
   * Holds commits until the promise `start` returns settles (it must not reject); while already
   * held, `start` is not called.
   */
  holdWhile(start: () => Promise<void>): void {
    if (this.held) return;
    this.held = true;
    void start().then(() => {
      this.held = false;
      if (this.pending.length > 0) this.schedule();
    });
  }

  /** Commits what is waiting now, hold notwithstanding: writes accepted are not failed by a close. */
  flush(): void {
    this.held = false;
    if (this.db.open) this.commit();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.commitScheduled);
  }

  private readonly commitScheduled = (): void => {
    this.scheduled = false;
    this.commit();
  };

  private commit(): void {
    if (this.pending.length === 0 || this.held) return;
    const batch = this.pending;
    this.pending = [];
    let results: unknown[];
    try {
      results = this.writeBatch(batch);
    } catch {
      // The cached ids may name rows that were rolled back. One failure must not fail the
      // others: retry each in its own transaction.
      this.hooks.onRollback();
      for (const p of batch) {
        settle(this.db, () => {
          try {
            return this.writeOne(p.run);
          } catch (err) {
            this.hooks.onRollback();
            throw err;
          }
        }).then(p.resolve, p.reject);
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
    this.hooks.onCommit();
  }
}
