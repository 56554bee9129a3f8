import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PERF_HZ, stagesOfReports } from '../../bench/lib/perf.js';

// What `perf report --stdio -g none` prints, trimmed to the lines that matter.
const byDso = `# Samples: 1K of event 'cpu-clock'
#
# Samples  Shared Object
# .......  ..................
#
      500  [kernel.kallsyms]
      300  node
      100  [JIT] tid 7991
       60  better_sqlite3.node
       40  libc.so.6
`;
const bySymbol = `# Children      Self  Symbol
    40.00%     0.00%  [k] ksys_write
    90.00%     0.00%  [.] uv_run
    10.00%     0.01%  [k] __x64_sys_pwrite64
     1.00%     0.00%  [k] __x64_sys_fcntl
     5.00%     0.00%  [k] do_writev
`;

describe('bench perf stages', () => {
  it('splits the kernel by system call and the rest by binary, in µs of CPU', () => {
    const us = (samples: number): number => (samples * 1e6) / PERF_HZ;
    const stages = stagesOfReports(byDso, bySymbol);
    const got = Object.fromEntries([...stages].map(([k, v]) => [k, Math.round(v)]));
    assert.deepEqual(got, {
      "Node and V8's runtime (builtins, GC, libuv, HTTP parser)": Math.round(us(300)),
      'JavaScript (JIT-compiled code)': Math.round(us(100)),
      'SQLite library': Math.round(us(60)),
      libc: Math.round(us(40)),
      'kernel: write(2) — socket writes, log lines': Math.round(us(400)),
      'kernel: writev(2) — HTTP answers': Math.round(us(50)),
      // pwrite and fcntl claim 110 samples but the kernel has only 50 left after write and
      // writev: the call chains never make the kernel larger than its own samples.
      'kernel: SQLite file I/O (pwrite, pread, fsync, fcntl locks, ftruncate)': Math.round(us(50)),
      'kernel: read(2) and epoll — requests in': 0,
      'kernel: other': 0,
    });
  });

  it('gives nothing for an empty report', () => {
    assert.equal(stagesOfReports('', '').size, 0);
  });
});
