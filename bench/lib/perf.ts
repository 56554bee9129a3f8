/**
 * A server's CPU by where it runs, from Linux `perf` sampling the whole process (every thread,
 * kernel included) on its CPU clock: what a V8 profile cannot show. V8's sampler measures the
 * main thread's wall time, so a thread descheduled inside a system call (a socket write that
 * wakes the receiver, say) charges the wait to that call; `perf` counts only CPU spent.
 *
 * Used by `--explain` when `perf` is installed and allowed to sample the server (it is on
 * these machines, as root); without it the explanation keeps the V8 profile alone.
 */
import { spawn, spawnSync } from 'node:child_process';

/** Samples per second: each sample stands for 1e6 / PERF_HZ µs of CPU. */
export const PERF_HZ = 999;

/** Kernel entry points, each with everything below it (children), named by what calls them. */
const syscalls: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['kernel: write(2) — socket writes, log lines', ['ksys_write']],
  ['kernel: writev(2) — HTTP answers', ['do_writev']],
  [
    'kernel: SQLite file I/O (pwrite, pread, fsync, fcntl locks, ftruncate)',
    [
      '__x64_sys_pwrite64',
      '__x64_sys_pread64',
      '__x64_sys_fsync',
      '__x64_sys_fdatasync',
      '__x64_sys_fcntl',
      '__x64_sys_ftruncate',
    ],
  ],
  ['kernel: read(2) and epoll — requests in', ['ksys_read', 'do_epoll_wait']],
];

/** Self time by binary: what each user-space part of the process is. */
function binaryStage(dso: string): string {
  if (dso.startsWith('[JIT]')) return 'JavaScript (JIT-compiled code)';
  if (dso === 'node') return "Node and V8's runtime (builtins, GC, libuv, HTTP parser)";
  if (dso.startsWith('libc.')) return 'libc';
  if (dso === 'better_sqlite3.node') return 'SQLite library';
  return 'other';
}

export function perfUsable(): boolean {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Samples `pid` (all threads, with kernel call chains) until `stop` is called. */
export function startPerf(pid: number, file: string): { stop(): Promise<boolean> } {
  const child = spawn(
    'perf',
    ['record', '-e', 'cpu-clock', '-F', String(PERF_HZ), '-g', '-p', String(pid), '-o', file],
    { stdio: 'ignore' },
  );
  const exited = new Promise<boolean>((resolve) => {
    // perf ends itself with SIGINT once it has written the file.
    child.once('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT'));
    child.once('error', () => resolve(false));
  });
  return {
    stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

function report(file: string, args: readonly string[]): string {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', '-g', 'none', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.status === 0 ? r.stdout : '';
}

/**
 * µs of CPU by stage: the kernel's time by system call (`syscalls`, children included), the
 * rest of the kernel and user space by binary. Empty if the file cannot be read.
 */
export function perfStages(file: string): Map<string, number> {
  return stagesOfReports(
    report(file, ['--no-children', '--sort', 'dso', '-F', 'sample,dso']),
    report(file, ['--children', '--sort', 'sym']),
  );
}

/**
 * The stages from two `perf report --stdio -g none` texts: samples by binary
 * (`--no-children --sort dso -F sample,dso`) and each symbol's children and self percentages
 * (`--children --sort sym`).
 */
export function stagesOfReports(byDso: string, bySymbol: string): Map<string, number> {
  const out = new Map<string, number>();
  const usPerSample = 1e6 / PERF_HZ;
  let kernelSamples = 0;
  let total = 0;
  for (const line of byDso.split('\n')) {
    const m = /^\s*(\d+)\s+(\S.*?)\s*$/.exec(line);
    if (m === null) continue;
    const samples = Number(m[1]);
    const dso = m[2] as string;
    total += samples;
    if (dso === '[kernel.kallsyms]') {
      kernelSamples += samples;
      continue;
    }
    const stage = binaryStage(dso);
    out.set(stage, (out.get(stage) ?? 0) + samples * usPerSample);
  }
  if (total === 0) return new Map();
  // Children percentages of the kernel entry points, of all samples.
  const pct = new Map<string, number>();
  for (const line of bySymbol.split('\n')) {
    const m = /^\s*([\d.]+)%\s+[\d.]+%\s+\[k\]\s+(\S+)\s*$/.exec(line);
    if (m !== null) pct.set(m[2] as string, Number(m[1]));
  }
  let inSyscalls = 0;
  for (const [stage, symbols] of syscalls) {
    const share = symbols.reduce((s, sym) => s + (pct.get(sym) ?? 0), 0) / 100;
    // Never more than the kernel's own samples, whatever the call chains say.
    const samples = Math.min(share * total, kernelSamples - inSyscalls);
    inSyscalls += samples;
    out.set(stage, samples * usPerSample);
  }
  out.set('kernel: other', (kernelSamples - inSyscalls) * usPerSample);
  return out;
}
