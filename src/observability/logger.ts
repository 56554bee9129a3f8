import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../config/settings.js';

/** Most time a log line waits in memory before it is handed to the writer. */
export const LOG_FLUSH_MS = 100;
/** Characters of log lines gathered into one write while the server is busy. */
const LOG_WRITE_CHARS = 32 * 1024;

/** pino's writer (sonic-boom), synchronous: a chunk is written whole, waiting out a full pipe. */
type Writer = ReturnType<typeof pino.destination>;

/**
 * Log lines gathered in memory, in order, and handed to the writer as one string of about
 * `LOG_WRITE_CHARS`, or `LOG_FLUSH_MS` after the first of them, whichever comes first (why:
 * `createLogger`).
 */
class LineBatch implements DestinationStream {
  private parts: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly writer: Writer) {}

  write(line: string): void {
    this.parts.push(line);
    this.chars += line.length;
    if (this.chars >= LOG_WRITE_CHARS) {
      this.handOver();
    } else if (this.timer === null) {
      // A timer only while lines wait: an idle server sets none.
      this.timer = setTimeout(() => this.handOver(), LOG_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Hands the waiting lines to the writer, then calls back once it has written them. */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    this.writer.flush(cb);
  }

  /** Writes the waiting lines now (the writer is synchronous): on a full batch, the timer, at exit. */
  handOver(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.chars = 0;
    try {
      this.writer.write(text);
    } catch {
      // The writer is gone (closed at exit, or the reader hung up): nothing left to tell.
    }
  }
}

/** Every batch not yet collected, for the exit hook; weakly held, so a dropped logger goes. */
const batches = new Set<WeakRef<LineBatch>>();

// One exit hook for every logger, whatever its number (tests build many).
process.on('exit', () => {
  for (const ref of batches) ref.deref()?.handOver();
});

function track(batch: LineBatch): void {
  for (const ref of batches) if (ref.deref() === undefined) batches.delete(ref);
  batches.add(new WeakRef(batch));
}

/**
 * The process logger, writing JSON lines to stdout. Authorization headers and tokens never
 * reach a log line.
 *
 * Lines are gathered in memory (`LineBatch`) and written ~32 KiB at a time or `LOG_FLUSH_MS`
 * after the first, whichever comes first, in one synchronous `write(2)` on the event loop:
 * a line costs an array push, and the writes keep their order (the asynchronous writer
 * could put a newer chunk ahead of one still in flight when the process exits). Measured at
 * one access-log line per request: a `write(2)` per line cost ~45 µs a request at 2,000/s,
 * sonic-boom fed line by line ~5 µs (`npm run bench -- send --log-level default,warn`).
 * Everything still in memory is written when the process exits (`process.exit`, an uncaught
 * exception and a signal handled by the server included); only a process killed outright
 * (SIGKILL, an OS crash) loses its last ≤ `LOG_FLUSH_MS` of lines. A reader that stops
 * reading blocks the server once the pipe is full, as pino's default writer does.
 */
export function createLogger(level: LogLevel): Logger {
  const batch = new LineBatch(pino.destination({ dest: 1, sync: true }));
  track(batch);
  return pino(
    {
      level,
      base: { service: 'quick-im' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'token'],
        censor: '[redacted]',
      },
    },
    batch,
  );
}
