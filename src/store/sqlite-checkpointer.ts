import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the background connection copies the WAL back into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * Runs in the worker thread, as plain CommonJS (an `eval` worker needs no TypeScript loader).
 * PASSIVE never blocks the writer: it copies what it can and leaves the rest for next time.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ failed: String(err && err.message) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread with its own connection.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the WAL threshold, on the
 * thread that commits: copying ~1,000 pages and syncing the file stalled the event loop for
 * 15–25 ms every few hundred appends. This thread copies most pages beside the writer, so the
 * writer's own checkpoint has little left to copy.
 *
 * It cannot replace that inline checkpoint: while appends keep coming, a PASSIVE checkpoint
 * from another connection never finds the WAL fully copied (new frames land while it copies),
 * so the WAL is never restarted and grows without end (measured: 10 MB/s at 1,500 appends/s).
 * Only a checkpoint run by the writer between its own commits completes, and lets the next
 * commit start the WAL over.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** `onFailure` runs once if the worker fails (the writer's own checkpoints go on). */
  constructor(path: string, onFailure: (reason: string) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(workerSource, {
      eval: true,
      workerData: { path, driver, intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    let failed = false;
    const fail = (reason: string): void => {
      if (failed) return;
      failed = true;
      onFailure(reason);
    };
    this.worker.on('message', (m: { failed?: string }) => {
      if (m.failed !== undefined) fail(m.failed);
    });
    this.worker.on('error', (err) => fail(err.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // The checkpointer alone must not keep a process alive.
    this.worker.unref();
  }

  /** Runs a last checkpoint and stops the thread. */
  async close(): Promise<void> {
    // Held while it finishes, or a process waiting only for this would exit first.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
