import { createServer } from 'node:net';
import { waitFor } from './wait.js';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The `waitFor` fallback at a 50 ms pace, for external processes (a port accepting, a
 * health endpoint): state no event of the test announces.
 */
export function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return waitFor(check, timeoutMs, what, 50);
}

/**
 * Whether tests needing an external server must run: under CI a missing server is a failure,
 * elsewhere the tests skip with `reason`.
 */
export function skipReason(reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI needs it: ${reason}`);
  return reason;
}
