/** The load-generator child process: `node --import tsx bench/gen/main.ts '<GenConfig JSON>'`. */
import type { GenConfig } from '../lib/protocol.js';
import { runConnections } from './connections.js';
import { runFanout } from './fanout.js';
import { reply } from './ipc.js';
import { runSend } from './send.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as GenConfig;
// Whatever happens, this process ends: every loop here is bounded in time.
setTimeout(() => {
  process.stderr.write(`generator: lifetime of ${cfg.lifetimeMs} ms reached\n`);
  process.exit(3);
}, cfg.lifetimeMs).unref();

async function main(): Promise<void> {
  switch (cfg.kind) {
    case 'fanout':
      return runFanout(cfg);
    case 'connections':
      return runConnections(cfg);
    case 'send':
      return runSend(cfg);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    reply({ type: 'error', message: (err as Error).stack ?? String(err) });
    setTimeout(() => process.exit(1), 100);
  },
);
