import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallFrame, Profile, ProfileNode } from '../../bench/lib/cpuprofile.js';
import { goalTable } from '../../bench/lib/goals.js';
import { stageTable, stageTimes } from '../../bench/lib/stages.js';

const frame = (functionName: string, url = ''): CallFrame => ({ functionName, url, lineNumber: 0 });

/**
 * A profile whose samples land, in turn, on the given leaves under one handler; each sample
 * lasts `dtUs`, the first one at `startTime + dtUs`.
 */
function profileOf(leaves: readonly CallFrame[], startTime = 1_000, dtUs = 100): Profile {
  const nodes: ProfileNode[] = [
    { id: 1, callFrame: frame('(root)'), children: [2] },
    {
      id: 2,
      callFrame: frame('handler', 'file:///app/dist/http/server.js'),
      children: leaves.map((_, i) => i + 3),
    },
    ...leaves.map((callFrame, i) => ({ id: i + 3, callFrame })),
  ];
  return {
    nodes,
    startTime,
    samples: leaves.map((_, i) => i + 3),
    timeDeltas: leaves.map(() => dtUs),
  };
}

describe('bench profile stages', () => {
  it("puts each sample in its stage by the leaf's system call or a package on its stack", () => {
    const times = stageTimes(
      profileOf([
        frame('writeBuffer'),
        frame('writev'),
        frame('step', 'file:///app/node_modules/better-sqlite3/lib/methods/transaction.js'),
        frame('write', 'file:///app/node_modules/sonic-boom/index.js'),
        frame('(idle)'),
        frame('deliver', 'file:///app/dist/realtime/hub.js'),
      ]),
    );
    assert.deepEqual(Object.fromEntries(times), {
      'socket writes (write syscalls)': 100,
      'HTTP answer (write syscalls)': 100,
      'SQLite (append and commit)': 100,
      logging: 100,
      idle: 100,
      // The handler above every sample is the server's: the leaf decides.
      "the server's own code": 100,
    });
  });

  it('keeps only the samples inside the window, on the monotonic clock', () => {
    // Samples at 1100, 1200, 1300, 1400.
    const p = profileOf([
      frame('writeBuffer'),
      frame('writeBuffer'),
      frame('writev'),
      frame('writev'),
    ]);
    const inside = stageTimes(p, { startUs: 1150, endUs: 1350 });
    assert.deepEqual(Object.fromEntries(inside), {
      'socket writes (write syscalls)': 100,
      'HTTP answer (write syscalls)': 100,
    });
    assert.equal(stageTimes(p, { startUs: 5000, endUs: 6000 }).size, 0);
  });

  it('sets two servers side by side per unit, biggest difference first, idle left out', () => {
    const a = new Map([
      ['SQLite (append and commit)', 600],
      ['socket writes (write syscalls)', 900],
      ['idle', 5000],
    ]);
    const b = new Map([['socket writes (write syscalls)', 600]]);
    const { table, differences } = stageTable('stage', ['quick-im', 'raw ws'], [a, b], [10, 10]);
    assert.deepEqual(
      differences.map((d) => [d.stage, d.diff]),
      [
        ['SQLite (append and commit)', 60],
        ['socket writes (write syscalls)', 30],
      ],
    );
    assert.ok(!table.includes('| idle |'));
    assert.match(
      table,
      /\| \*\*all but idle\*\* \| \*\*150\.0\*\* \| \*\*60\.0\*\* \| \*\*\+90\.0\*\* \|/,
    );
  });
});

describe('bench goal table', () => {
  it('says what bounds a missed goal, and nothing for a met one', () => {
    const spreadOf = (median: number) => ({ median, min: median, max: median, n: 1 });
    const table = goalTable([
      { name: 'cpu', measured: spreadOf(1.6), unit: '×', bound: 1.25, why: 'SQLite +60' },
      { name: 'p50', measured: spreadOf(1.2), unit: '×', bound: 1.5, why: 'not shown' },
    ]);
    const [, , missed, metRow] = table.split('\n');
    assert.match(missed ?? '', /\| cpu \| ≤ 1\.25× \| 1\.60× \| \*\*missed\*\* \| SQLite \+60 \|$/);
    assert.ok((metRow ?? '').endsWith('| p50 | ≤ 1.5× | 1.20× | met |  |'));
  });
});
