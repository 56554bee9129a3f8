import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('./logger.ts', import.meta.url));

/** Starts a child process running `body` with `createLogger` in scope; stdout is piped. */
function spawnWithLogger(body: string): ChildProcessByStdio<null, Readable, null> {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};\n${body}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  proc.stdout.setEncoding('utf8');
  return proc;
}

/** Runs `body` to its end; resolves with its stdout lines and exit code. */
function child(body: string): Promise<{ lines: string[]; code: number | null }> {
  const proc = spawnWithLogger(body);
  let out = '';
  proc.stdout.on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve) =>
    proc.once('close', (code) => resolve({ lines: out.split('\n').filter((l) => l !== ''), code })),
  );
}

const indices = (lines: readonly string[]): number[] =>
  lines.map((l) => (JSON.parse(l) as { i?: number }).i ?? -1);

describe('logger', () => {
  it('writes every line, in order, when the process exits with lines still in memory', async () => {
    // 5,000 lines are many 32 KiB batches; the last ones are still in memory at exit.
    const { lines, code } = await child(`
      const log = createLogger('info');
      for (let i = 0; i < 5000; i++) log.info({ i }, 'line');
      process.exit(3);
    `);
    assert.equal(code, 3);
    assert.deepEqual(
      indices(lines),
      Array.from({ length: 5000 }, (_, i) => i),
    );
  });

  it('writes the lines of an exit by an uncaught exception', async () => {
    const { lines, code } = await child(`
      const log = createLogger('info');
      log.info({ i: 0 }, 'before');
      setTimeout(() => { throw new Error('boom'); }, 1);
    `);
    assert.equal(code, 1);
    assert.deepEqual(indices(lines), [0]);
  });

  it('writes a lone line while the process runs on, not only at exit', async () => {
    // The child logs once and never exits by itself: the line can only come from the flush
    // timer. It is killed outright (no exit hook) once the line has arrived.
    const proc = spawnWithLogger(`
      createLogger('info').info({ i: 7 }, 'lone');
      setInterval(() => {}, 1000);
    `);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error('no line within 20 s')), 20_000);
        proc.stdout.once('data', (chunk: string) => {
          clearTimeout(timeout);
          resolve(chunk);
        });
      });
      assert.deepEqual(indices(line.split('\n').filter((l) => l !== '')), [7]);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('writes nothing below its level', async () => {
    const { lines } = await child(`
      const log = createLogger('warn');
      log.info({ i: 1 }, 'quiet');
      log.warn({ i: 2 }, 'loud');
    `);
    assert.deepEqual(indices(lines), [2]);
  });
});
