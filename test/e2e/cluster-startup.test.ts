import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { runMain } from '../helpers/child-nodes.js';
import { natsUnavailable } from '../helpers/nats.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres.js';
import { freePort, skipReason } from '../helpers/processes.js';
import { tempDataDir } from '../helpers/server.js';

describe(
  'cluster: start-up refusals of the real entry point',
  // Each test is one short-lived child process: they may run side by side.
  { skip: skipReason(postgresUnavailable() ?? natsUnavailable()), concurrency: true },
  () => {
    let postgres: PostgresServer;
    let dataDir: string;

    before(async () => {
      dataDir = tempDataDir();
      postgres = await startPostgres();
    });

    after(async () => {
      await postgres?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const KEY = 'k'.repeat(32);

    /** Runs `src/main.ts`; asserts a non-zero exit and exactly one stderr line naming `flag`. */
    async function assertRefused(args: readonly string[], flag: string): Promise<string> {
      const run = await runMain([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        ...args,
      ]);
      const detail = `exit ${run.code} ${run.signal}; stderr ${JSON.stringify(run.stderr)}`;
      assert.equal(run.signal, null, detail);
      assert.notEqual(run.code, 0, detail);
      const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `one stderr line: ${detail}`);
      const [line = ''] = lines;
      assert.ok(line.includes(flag), `the line names ${flag}: ${detail}`);
      assert.doesNotMatch(line, /\n|^\s+at /, detail);
      assert.doesNotMatch(run.stdout, /"msg":"listening"/, 'it never listened');
      return line;
    }

    it('refuses a nats:// bus with the embedded sqlite store, naming --bus', async () => {
      await assertRefused(['--bus', 'nats://127.0.0.1:1', '--store', 'sqlite'], '--bus');
    });

    it('refuses an unreachable PostgreSQL, naming --store', async () => {
      await assertRefused(['--store', 'postgres://127.0.0.1:1/x', '--jwt-key', KEY], '--store');
    });

    it('refuses the PostgreSQL store without a signing key, naming --jwt-key', async () => {
      await assertRefused(['--store', postgres.url], '--jwt-key');
    });

    it('refuses a signing key under 32 bytes without printing it, naming --jwt-key', async () => {
      const line = await assertRefused(['--jwt-key', 'a'], '--jwt-key');
      assert.ok(!line.includes('"a"'), line);
    });

    it('refuses an unknown store scheme, naming --store', async () => {
      const line = await assertRefused(['--store', 'mysql://x'], '--store');
      assert.ok(line.includes('mysql://x'), line);
    });

    it('refuses an invalid CIDR in --inner-allow, naming --inner-allow', async () => {
      await assertRefused(['--inner-allow', '300.1.1.1/8'], '--inner-allow');
    });

    it('refuses an unreachable NATS with a reachable PostgreSQL, naming --bus', async () => {
      const port = await freePort();
      await assertRefused(
        ['--store', postgres.url, '--bus', `nats://127.0.0.1:${port}`, '--jwt-key', KEY],
        '--bus',
      );
    });
  },
);
