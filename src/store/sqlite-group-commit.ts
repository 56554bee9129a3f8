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
 * Writes share transactions (group commit): those that arrive in the same turn of the event
 * loop, and, while writes keep coming, all that arrive within `windowMs` of the last commit. A
 * commit writes the WAL once however many rows it holds, so under load this halves the store's
 * cost per message, while a write on an idle store still commits at once. Each write resolves
 * only after its commit; one failing write fails no other.
 */
export class SqliteGroupCommit {
  // Built once: wrapping a function in a transaction costs as much as a small query.
  private readonly writeOne: (run: () => unknown) => unknown;
  private readonly writeBatch: (batch: readonly PendingWrite[]) => unknown[];
  private pending: PendingWrite[] = [];
  private lastCommitAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** Commits wait while this is set (see `holdWhile`). */
  private held = false;

  constructor(
    private readonly db: Database.Database,
    private readonly windowMs: number,
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
      if (this.pending.push(write) === 1) this.schedule();
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
      if (this.pending.length > 0 && this.timer === null) this.schedule();
    });
  }

  /** Commits what is waiting now, hold or window notwithstanding: writes accepted are not failed by a close. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.held = false;
    if (this.db.open) this.commit();
  }

  private schedule(): void {
    const wait = this.lastCommitAt + this.windowMs - performance.now();
    if (wait >= 1) this.timer = setTimeout(this.commit, wait);
    else setImmediate(this.commit);
  }

  private readonly commit = (): void => {
    this.timer = null;
    if (this.pending.length === 0 || this.held) return;
    this.lastCommitAt = performance.now();
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
  };
}
