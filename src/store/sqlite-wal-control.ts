import type Database from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

export interface WalControlOptions {
  /** Group commits after which checkpoints move to a background thread (default 100). */
  readonly checkpointerAfterCommits?: number;
  /** Called if the background checkpoint thread fails (inline checkpoints go on). */
  readonly onCheckpointFailure?: (reason: string) => void;
  /** WAL size after which it is copied back and started over (default `WAL_MAX_BYTES`). */
  readonly walMaxBytes?: number;
  /** Milliseconds between background checkpoints (default `CHECKPOINT_INTERVAL_MS`). */
  readonly checkpointIntervalMs?: number;
}

/** What WAL control needs of the writer: to hold its commits while a pass completes. */
export interface CommitHold {
  holdWhile(start: () => Promise<void>): void;
}

/**
 * WAL size at which it is started over (`--wal-max-mb`): every few seconds at 2,000 msg/s.
 * Once the background checkpointer runs, the writer holds its commits for one completing pass
 * at this size (10–18 ms measured; see `SqliteCheckpointer`); SQLite's own checkpoint inside a
 * commit (two fsyncs, 10–35 ms with the event loop stopped) is then only a fallback at
 * `FALLBACK_FACTOR` times the size, should the background thread fall behind.
 */
const WAL_MAX_BYTES = 40 * 1024 * 1024;
const FALLBACK_FACTOR = 4;

/** Keeps a writer's WAL bounded: when it checkpoints, on which thread, and when it restarts. */
export class SqliteWalControl {
  private checkpointer: SqliteCheckpointer | null = null;
  private commitsBeforeCheckpointer: number;
  private readonly walRestartPages: number;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly commits: CommitHold,
    private readonly options: WalControlOptions = {},
  ) {
    this.commitsBeforeCheckpointer = options.checkpointerAfterCommits ?? 100;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const walMaxBytes = options.walMaxBytes ?? WAL_MAX_BYTES;
    this.walRestartPages = Math.max(1, Math.round(walMaxBytes / pageSize));
    db.pragma(`wal_autocheckpoint = ${this.walRestartPages}`);
    // A restarted WAL keeps its file (rewriting blocks is cheaper than growing a file) up to this.
    db.pragma(`journal_size_limit = ${this.walRestartPages * pageSize}`);
  }

  /** Call after each group commit. */
  committed(): void {
    if (this.checkpointer === null && --this.commitsBeforeCheckpointer <= 0) this.start();
  }

  /** Runs a last checkpoint and stops the thread, if one runs. */
  async close(): Promise<void> {
    await this.checkpointer?.close();
  }

  /**
   * Moves checkpoints off this thread (see `SqliteCheckpointer`). Started once appends have
   * begun to flow: until then the WAL is short, and a store that never takes messages does not
   * pay for a thread.
   */
  private start(): void {
    const checkpointer = new SqliteCheckpointer(
      this.path,
      {
        onPass: (walFrames) => {
          // Commits are held while the checkpointer copies the rest; the next commit restarts the WAL.
          if (walFrames >= this.walRestartPages && this.db.open) {
            this.commits.holdWhile(() => checkpointer.complete());
          }
        },
        onFailure: (reason) => {
          this.setAutocheckpoint(this.walRestartPages);
          this.options.onCheckpointFailure?.(reason);
        },
      },
      this.options.checkpointIntervalMs,
    );
    this.checkpointer = checkpointer;
    this.setAutocheckpoint(this.walRestartPages * FALLBACK_FACTOR);
  }

  private setAutocheckpoint(pages: number): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${pages}`);
  }
}
