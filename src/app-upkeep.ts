import type { FastifyBaseLogger } from 'fastify';

// What the composition root runs beside the app: periodic store upkeep and bounded closing.

export function firstLine(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0] ?? '';
}

/** How often revocations naming only expired tokens are forgotten. */
export const REVOCATION_SWEEP_MS = 60 * 60_000;
/** How often poll positions no poll will read again (older than `pollKeepMs`) are deleted. */
export const POLL_CURSOR_SWEEP_MS = 10 * 60_000;
/** How often idempotency keys past their 24 h are deleted. */
export const CLIENT_MSG_ID_SWEEP_MS = 10 * 60_000;

/** Runs `sweep` every `ms` (not keeping the process alive); a failure is logged, never thrown. */
export function sweepEvery(
  ms: number,
  what: string,
  logger: FastifyBaseLogger,
  sweep: () => Promise<unknown>,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => logger.warn({ err: firstLine(err), what }, 'sweep failed'));
  }, ms);
  timer.unref();
  return timer;
}

/** Resolves as `work` does, or after `ms` with a warning naming `what` (a close must not hang the exit). */
export async function within(
  work: Promise<void>,
  ms: number,
  what: string,
  logger: FastifyBaseLogger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ what, ms }, 'close did not finish within the shutdown grace period');
      resolve();
    }, ms);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * When, after shutdown begins, idle connections close (`lingerMs`) and the rest are cut
 * (`cutMs`). A connection idle when shutdown begins may already carry a request the server has
 * not read yet (a keep-alive client sends its next request the moment it has an answer):
 * closing it at once would reset that request unanswered, so it lingers long enough for such a
 * request to arrive and be refused with 503. The last part of the grace period is kept for
 * closing the bus and the store.
 */
export function shutdownTimes(graceMs: number): { lingerMs: number; cutMs: number } {
  const reserveMs = Math.min(1000, Math.floor(graceMs / 5));
  return { lingerMs: Math.min(250, Math.floor(graceMs / 10)), cutMs: graceMs - reserveMs };
}
