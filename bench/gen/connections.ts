/**
 * Idle-connection generator: sets up N sessions in rooms of `roomSize`, waits for `connect`,
 * opens N WebSockets (spread over the source addresses), reports, and holds them until `close`.
 */
import type { ConnectionsGenConfig } from '../lib/protocol.js';
import { closeFleet, openCount, openFleet, sourceFor } from './fleet.js';
import { qimCreate, qimTokens } from './http.js';
import { nextCommand, reply } from './ipc.js';
import { receiverKind } from './receivers.js';
import { pool } from '../lib/stats.js';

export async function runConnections(cfg: ConnectionsGenConfig): Promise<void> {
  const t0 = performance.now();
  const qim = cfg.target === 'quick-im';
  const roomCount = Math.ceil(cfg.count / cfg.roomSize);
  const roomOf = (i: number): number => Math.floor(i / cfg.roomSize);
  const sessions = Array.from({ length: cfg.count }, (_, i) => `c${i}`);
  let tokens: string[] = [];
  if (qim) {
    tokens = await qimTokens(cfg.baseUrl, sessions, 1);
    await pool(roomCount, 8, async (r) => {
      await qimCreate(cfg.baseUrl, sessions.slice(r * cfg.roomSize, (r + 1) * cfg.roomSize));
    });
  }
  reply({
    type: 'ready',
    info: {
      setupMs: performance.now() - t0,
      connections: 0,
      connectFailures: 0,
      connectMs: 0,
    },
  });
  const first = await nextCommand(cfg.lifetimeMs);
  if (first.type !== 'connect') return;
  let errors = 0;
  const kind = receiverKind(cfg.target, 'ws');
  const fleet = await openFleet(cfg.count, cfg.connectConcurrency, (i) => ({
    kind,
    baseUrl: cfg.baseUrl,
    localAddress: sourceFor(cfg.sourceIps, i),
    room: `room-${roomOf(i)}`,
    token: tokens[i] ?? '',
    timeoutMs: cfg.connectTimeoutMs,
    onContent: () => undefined,
    onError: () => errors++,
  }));
  if (fleet.failures > 0) process.stderr.write(`first connect failure: ${fleet.firstError}\n`);
  reply({
    type: 'result',
    result: {
      kind: 'connections',
      opened: cfg.count - fleet.failures,
      failures: fleet.failures,
      connectMs: fleet.ms,
      clientRssBytes: process.memoryUsage.rss(),
      stillOpen: openCount(fleet),
    },
  });
  // Bounded: waits for `close` (or the lifetime), then closes everything.
  for (let i = 0; i < 100; i++) {
    const cmd = await nextCommand(cfg.lifetimeMs);
    if (cmd.type === 'close') break;
  }
  if (errors > 0) process.stderr.write(`${errors} connections ended early\n`);
  closeFleet(fleet);
}
