import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromGen, GenConfig, ToGen } from './protocol.js';

/** The repository root (bench/lib/../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const WANTED_FDS = 65536;

function clockTicksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

const CLK_TCK = clockTicksPerSecond();

/**
 * The command prefix that raises the open-file limit of a child: `prlimit --nofile=65536` when
 * allowed; otherwise none (Node raises its soft limit to the hard limit by itself at start).
 */
function fdPrefix(): string[] {
  const want = `--nofile=${WANTED_FDS}:${WANTED_FDS}`;
  const probe = spawnSync('prlimit', [want, 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? ['prlimit', want] : [];
}

const FD_PREFIX = fdPrefix();

/** Whether `--pin` can work here: taskset runs and CPUs 0 and 1 exist. */
export function canPin(): boolean {
  return (
    availableParallelism() >= 2 &&
    spawnSync('taskset', ['-c', '0,1', 'true'], { stdio: 'ignore' }).status === 0
  );
}

/** How the fd limit is raised, for the report. */
export function fdMethod(): string {
  return FD_PREFIX.length > 0
    ? FD_PREFIX.join(' ')
    : `none (prlimit ${WANTED_FDS} refused; node raises soft to hard)`;
}

/** The soft open-file limit a running process has. */
export function fdLimitOf(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return Number(line?.split(/\s+/)[3] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name, so index 0 is field 3 (state) of
 * proc(5): ppid is [1], utime [11], stime [12], cutime [13], cstime [14].
 */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a process (all its threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const f = statFields(pid);
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

/** Resident set size of a process, in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

function cpuTotals(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * CPU time of a process and all its live descendants (PostgreSQL runs one process per
 * connection), plus what its reaped children used (cutime + cstime), in microseconds.
 */
export function treeCpuMicros(rootPid: number): number {
  // One read of each process's stat: its parent and its own ticks.
  const procs = new Map<number, { parent: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const f = statFields(pid);
      const children = pid === rootPid ? Number(f[13]) + Number(f[14]) : 0;
      procs.set(pid, { parent: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + children });
    } catch {
      // exited meanwhile: its time is in its parent's cutime once reaped
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, depth = 0; p > 1 && depth < 64; depth++) {
      if (p === rootPid) return true;
      p = procs.get(p)?.parent ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, proc] of procs) if (inTree(pid)) ticks += proc.ticks;
  return (ticks * 1e6) / CLK_TCK;
}

export interface CpuWindow {
  readonly ms: number;
  /** CPU time of the server processes (every node), µs. */
  readonly server: number;
  /** CPU time of the generator process, µs. */
  readonly client: number;
  /** CPU time of the backing services (PostgreSQL's process tree, nats-server), µs. */
  readonly backends: number;
  /** CPU time of everything else on the machine (kernel included), µs. */
  readonly others: number;
}

/**
 * Starts measuring CPU time; call the result to end the window. `backendPids` are roots of
 * process trees (each counted with its descendants).
 */
export function cpuWindow(
  serverPids: readonly number[],
  genPid: number,
  backendPids: readonly number[] = [],
): () => CpuWindow {
  const sum = (pids: readonly number[], of: (pid: number) => number): number =>
    pids.reduce((total, pid) => total + of(pid), 0);
  const t0 = performance.now();
  const s0 = sum(serverPids, cpuMicros);
  const b0 = sum(backendPids, treeCpuMicros);
  const g0 = cpuMicros(genPid);
  const m0 = cpuTotals().busy;
  return () => {
    const server = sum(serverPids, cpuMicros) - s0;
    const backends = sum(backendPids, treeCpuMicros) - b0;
    const client = cpuMicros(genPid) - g0;
    const machine = ((cpuTotals().busy - m0) * 1e6) / CLK_TCK;
    // Per-process and machine-wide tick accounting differ slightly: never below zero.
    const others = Math.max(0, machine - server - backends - client);
    return { ms: performance.now() - t0, server, client, backends, others };
  };
}

/** How busy the whole machine is over `ms` (% of all CPUs), e.g. with other people's work. */
export async function machineBusyPct(ms: number): Promise<number> {
  const a = cpuTotals();
  await sleep(ms);
  const b = cpuTotals();
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : NaN;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/**
 * A node child process with the fd limit raised, running a compiled `.js` file (the quick-im
 * server, from `dist/`) as is and a TypeScript file (generators, reference servers) through tsx.
 */
export class Child {
  readonly proc: ChildProcess;
  private readonly inbox: FromGen[] = [];
  private wake: (() => void) | null = null;
  exited: { code: number | null; signal: string | null } | null = null;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    script: string,
    args: readonly string[],
    readonly logFile: string,
    options: { ipc?: boolean; nodeArgs?: readonly string[]; cpus?: string | null } = {},
  ) {
    const fd = openSync(logFile, 'a');
    const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const node = [process.execPath, ...(options.nodeArgs ?? []), ...loader, script];
    // `--pin`: the child may run on these CPUs only (taskset -c).
    const pin = options.cpus != null ? ['taskset', '-c', options.cpus] : [];
    const argv = [...pin, ...FD_PREFIX, ...node, ...args];
    this.proc = spawn(argv[0] as string, argv.slice(1), {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
    });
    closeSync(fd);
    this.exitPromise = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exited = { code, signal };
        this.wake?.();
        resolve();
      });
    });
    this.proc.on('message', (m) => {
      this.inbox.push(m as FromGen);
      this.wake?.();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  post(msg: ToGen): void {
    this.proc.send?.(msg);
  }

  /** The next message of `type` from the generator; fails on exit, error or timeout. */
  async next<T extends FromGen['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromGen, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 1_000_000; i++) {
      const m = this.inbox.shift();
      if (m?.type === 'error') throw new Error(`${this.name}: ${m.message}`);
      if (m?.type === type) return m as Extract<FromGen, { type: T }>;
      if (m !== undefined) continue;
      if (this.exited) throw new Error(`${this.name} exited (${this.describeExit()})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    throw new Error(`${this.name}: too many messages`);
  }

  describeExit(): string {
    const e = this.exited;
    return `code ${e?.code ?? '-'}, signal ${e?.signal ?? '-'}; log ${this.logFile}:\n${tail(this.logFile)}`;
  }

  /** Resolves when the process has exited or after `ms`, whichever comes first. */
  async waitExit(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exitPromise, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(killer);
  }
}

/** Starts a generator child with its configuration. */
export function startGenerator(
  config: GenConfig,
  logFile: string,
  cpus: string | null = null,
): Child {
  const script = join(ROOT, 'bench', 'gen', 'main.ts');
  return new Child(`generator (${config.kind})`, script, [JSON.stringify(config)], logFile, {
    ipc: true,
    cpus,
  });
}

/** Resolves once `GET <url>/` answers at all; fails if the child exits or after `timeoutMs`. */
export async function waitHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (child.exited) throw new Error(`${child.name} exited (${child.describeExit()})`);
    const up = await new Promise<boolean>((resolve) => {
      const req = request(`${url}/`, { method: 'GET', timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`${child.name} did not answer within ${timeoutMs} ms`);
}
