import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions } from '../../bench/lib/args.js';
import { keepsRateLimits } from '../../bench/workloads/common.js';
import { busiestSessionRate } from '../../bench/workloads/fanout.js';
import { Child, canPin, cpuMicros, treeCpuMicros } from '../../bench/lib/proc.js';

describe('bench flags', () => {
  it('passes --qim-flag "--name value" through to quick-im, in either spelling', () => {
    for (const argv of [
      ['fanout', '--qim-flag', '--commit-max-writes 100', '--qim-flag', '--log-level info'],
      ['fanout', '--qim-flag=--commit-max-writes 100', '--qim-flag=--log-level info'],
    ]) {
      const opts = parseOptions(argv);
      assert.ok(opts !== null);
      assert.deepEqual(opts.qimFlags, ['--commit-max-writes', '100', '--log-level', 'info']);
    }
  });

  it('runs quick-im at its own default log level unless told, one row per level asked for', () => {
    assert.deepEqual(parseOptions(['fanout'])?.logLevels, ['default']);
    assert.deepEqual(parseOptions(['fanout', '--log-level', 'default,warn'])?.logLevels, [
      'default',
      'warn',
    ]);
    assert.throws(() => parseOptions(['fanout', '--log-level', 'loud']), /log-level/);
  });

  it("keeps quick-im's rate limits unless a room's sender publishes over the default send rate", () => {
    const at = (argv: string[]): number => {
      const o = parseOptions(argv);
      assert.ok(o !== null);
      return busiestSessionRate(o);
    };
    // 2,000 msg/s over 100 rooms: 20 per room's sender, the default --send-rate.
    assert.equal(keepsRateLimits(at(['fanout'])), true);
    assert.equal(keepsRateLimits(at(['fanout', '--rooms', '50'])), false);
    assert.equal(keepsRateLimits(at(['fanout', '--find-max'])), false);
  });

  it('refuses an unknown flag with a message naming it', () => {
    assert.throws(() => parseOptions(['fanout', '--nope']), /nope/);
  });

  it('cluster takes the node counts to run on PostgreSQL + NATS, 1 and 2 by default', () => {
    assert.deepEqual(parseOptions(['cluster'])?.nodes, [1, 2]);
    assert.equal(parseOptions(['cluster'])?.rate, 500);
    assert.equal(parseOptions(['fanout'])?.rate, 2000);
    assert.deepEqual(parseOptions(['cluster', '--nodes', '2, 3'])?.nodes, [2, 3]);
    assert.throws(
      () => parseOptions(['cluster', '--nodes', '0']),
      /--nodes must be a number 1\.\.8/,
    );
    assert.throws(() => parseOptions(['cluster', '--nodes', '1,x']), /--nodes/);
  });

  it('counts the CPU of a process tree, its children included (PostgreSQL forks a backend per connection)', async () => {
    // The parent idles; its child burns ~400 ms of CPU, then idles. Both exit by themselves.
    const grandchild =
      'const end = Date.now() + 400; while (Date.now() < end); setTimeout(() => {}, 4000);';
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' }); setTimeout(() => {}, 4000);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const pid = parent.pid as number;
      let children = 0;
      for (let i = 0; i < 60 && children < 350_000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        children = treeCpuMicros(pid) - cpuMicros(pid);
      }
      assert.ok(children >= 350_000, `children's CPU ${children} µs`);
      assert.ok(cpuMicros(pid) < 350_000, `the parent alone idles: ${cpuMicros(pid)} µs`);
      assert.equal(treeCpuMicros(2 ** 22 + 12_345), 0, 'no such process: nothing counted');
    } finally {
      parent.kill();
    }
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
