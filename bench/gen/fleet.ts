import { pool } from '../lib/stats.js';
import { openReceiver } from './receivers.js';
import type { ReceiverHandle, ReceiverSpec } from './receivers.js';

export interface Fleet {
  readonly handles: Array<ReceiverHandle | null>;
  readonly failures: number;
  readonly firstError: string | null;
  readonly ms: number;
}

/** Opens `n` receivers, at most `concurrency` handshakes at a time; failures are counted. */
export async function openFleet(
  n: number,
  concurrency: number,
  spec: (i: number) => ReceiverSpec,
): Promise<Fleet> {
  const handles = new Array<ReceiverHandle | null>(n).fill(null);
  let failures = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  await pool(n, concurrency, async (i) => {
    try {
      handles[i] = await openReceiver(spec(i));
    } catch (err) {
      failures++;
      firstError ??= (err as Error).message;
    }
  });
  return { handles, failures, firstError, ms: performance.now() - t0 };
}

export function closeFleet(fleet: Fleet): void {
  for (const h of fleet.handles) h?.close();
}

export function openCount(fleet: Fleet): number {
  let n = 0;
  for (const h of fleet.handles) if (h?.isOpen()) n++;
  return n;
}

/** The i-th connection's local address, round-robin over the source addresses. */
export function sourceFor(sourceIps: readonly string[], i: number): string {
  return sourceIps[i % sourceIps.length] ?? '127.0.0.1';
}
