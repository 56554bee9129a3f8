import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions } from '../../bench/lib/args.js';
import { Child, canPin } from '../../bench/lib/proc.js';

describe('bench flags', () => {
  it('passes --qim-flag "--name value" through to quick-im, in either spelling', () => {
    for (const argv of [
      ['fanout', '--qim-flag', '--commit-window-ms 0', '--qim-flag', '--log-level info'],
      ['fanout', '--qim-flag=--commit-window-ms 0', '--qim-flag=--log-level info'],
    ]) {
      const opts = parseOptions(argv);
      assert.ok(opts !== null);
      assert.deepEqual(opts.qimFlags, ['--commit-window-ms', '0', '--log-level', 'info']);
    }
  });

  it('refuses an unknown flag with a message naming it', () => {
    assert.throws(() => parseOptions(['fanout', '--nope']), /nope/);
  });

  it('--pin runs a child on the CPUs it is given', { skip: !canPin() }, async () => {
    assert.equal(parseOptions(['fanout', '--pin'])?.pin, true);
    assert.equal(parseOptions(['fanout'])?.pin, false);
    const dir = mkdtempSync(join(tmpdir(), 'bench-pin-'));
    try {
      const script = join(dir, 'wait.mjs');
      writeFileSync(script, 'setTimeout(() => {}, 20_000);\n');
      for (const cpus of ['1', null]) {
        const child = new Child('pin-test', script, [], join(dir, 'log'), { cpus });
        try {
          const pid = child.proc.pid as number;
          const allowed = (): string | undefined =>
            /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
          // taskset sets the mask, then execs node: the same pid, pinned from its first step.
          for (
            let i = 0;
            i < 100 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'node';
            i++
          ) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          if (cpus === null) assert.notEqual(allowed(), '1');
          else assert.equal(allowed(), cpus);
        } finally {
          await child.stop(2000);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
