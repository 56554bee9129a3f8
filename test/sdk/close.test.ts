import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/processes.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { Changes, withTimeout } from '../helpers/wait.js';
import { TEST_TIMEOUT_MS, TRANSPORTS, send } from './sdk-helpers.js';

/** A process that must end by itself once the client is closed; never longer than this. */
const EXIT_WITHIN_MS = 5000;

const repoTmp = fileURLToPath(new URL('../../tmp/', import.meta.url));

// Runs in a child process: connects, prints each message, closes on the first one and does
// NOT call process.exit: the process ends only if close() left no timer, socket or request.
const CHILD = `
import { WebSocket } from 'ws';
import { QuickImClient } from '@quick-im/client';
const [baseUrl, token, transport, mode] = process.argv.slice(2);
// Unreachable: every transport fails at once, then a backoff wait of up to ~23 days, which
// only close() can cut short.
const reconnect = mode === 'unreachable'
  ? { initialDelayMs: 2e9, maxDelayMs: 2e9 }
  : { initialDelayMs: 50, maxDelayMs: 100 };
const client = new QuickImClient({ baseUrl, token, transport, WebSocket, reconnect });
client.on('state', (s) => console.log('state ' + s));
if (mode === 'unreachable') {
  client.connect().catch((err) => console.log('rejected ' + err.code));
  setTimeout(() => { client.close(); console.log('closed'); }, 300);
} else {
  client.on('message', (m) => {
    console.log('message ' + m.Content);
    client.close();
    console.log('closed');
  });
  await client.connect();
  console.log('connected');
}
`;

interface ChildRun {
  readonly lines: string[];
  /** Notified after each stdout line. */
  readonly output: Changes;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  kill(): void;
}

function runChild(script: string, args: readonly string[]): ChildRun {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const run: ChildRun = {
    lines: [],
    output: new Changes(),
    exitCode: undefined,
    exited: new Promise((resolve) => {
      child.on('exit', (code) => {
        run.exitCode = code;
        resolve(code);
      });
    }),
    kill: () => child.kill('SIGKILL'),
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    run.lines.push(...parts);
    run.output.notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk));
  return run;
}

describe('QuickImClient close()', () => {
  let server: TestServer;
  let dir: string;
  let script: string;
  let conversationId: string;
  let aliceToken: string;

  before(async () => {
    server = await startServer();
    mkdirSync(repoTmp, { recursive: true });
    dir = mkdtempSync(join(repoTmp, 'sdk-close-'));
    script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    conversationId = await server.createConversation(['alice', 'bob']);
    aliceToken = await server.token('alice');
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.close(true);
  });

  /** Waits for the child to exit on its own; kills it and fails if it does not. */
  async function exitsByItself(run: ChildRun): Promise<void> {
    try {
      await withTimeout(
        run.exited,
        EXIT_WITHIN_MS,
        () => `the process to exit by itself after close() (output: ${run.lines.join(' | ')})`,
      );
    } finally {
      run.kill();
    }
    assert.equal(run.exitCode, 0, run.lines.join('\n'));
  }

  for (const [i, transport] of [...TRANSPORTS, 'auto'].entries()) {
    it(
      `leaves nothing pending after receiving over ${transport}`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const token = await server.token('bob', 30 + i);
        const run = runChild(script, [server.url, token, transport]);
        await run.output.until(
          () => run.lines.includes('connected'),
          10_000,
          'the child to connect',
        );
        await send(server, aliceToken, conversationId, `bye ${transport}`);
        await exitsByItself(run);
        assert.ok(run.lines.includes(`message bye ${transport}`), run.lines.join('\n'));
        assert.deepEqual(run.lines.slice(-2), ['state closed', 'closed']);
      },
    );
  }

  it(
    'leaves nothing pending when closed while reconnecting to an unreachable server',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = runChild(script, [url, 'token', 'auto', 'unreachable']);
      await exitsByItself(run);
      assert.deepEqual(run.lines.slice(-3), ['state closed', 'closed', 'rejected 3']);
    },
  );
});
