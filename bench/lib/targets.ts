import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, ROOT, fdLimitOf, freePort, waitHttp } from './proc.js';
import type { Target } from './protocol.js';

export const targetTitles: Readonly<Record<Target, string>> = {
  'quick-im': 'quick-im',
  'raw-ws': 'raw ws',
  'raw-ws-send': 'raw ws, ws.send',
  socketio: 'Socket.IO',
  'bare-fastify': 'bare Fastify',
};

export interface ServerOptions {
  /** quick-im's `--log-level`; `default` passes none. */
  readonly logLevel: string;
  /**
   * quick-im's per-session rate limits as by default; false turns them off, for workloads
   * whose few sessions send faster than a person could (`--send-rate 0 --join-rate 0`).
   */
  readonly rateLimits: boolean;
  /** Extra quick-im flags, e.g. `--queue-max-messages 5000`. */
  readonly extraFlags: readonly string[];
  /** Writes the server's V8 CPU profile into bench/results/ under this name. */
  readonly profileName: string | null;
  /**
   * quick-im without its message INSERT (`bench/servers/quick-im-no-insert.mjs`): what storing
   * each message costs, by difference. Measurement only.
   */
  readonly noInsert?: boolean;
  /** Another build's `dist/` to run quick-im from (`--baseline`): before/after in one run. */
  readonly distDir?: string;
  /** CPUs the server may run on (`--pin`), or null for any. */
  readonly cpus: string | null;
}

export interface RunningServer {
  readonly target: Target;
  readonly child: Child;
  readonly pid: number;
  readonly baseUrl: string;
  readonly fdLimit: number;
  stop(): Promise<void>;
}

const referenceScripts: Readonly<Record<Exclude<Target, 'quick-im'>, string>> = {
  'raw-ws': 'bench/servers/raw-ws.ts',
  'raw-ws-send': 'bench/servers/raw-ws.ts',
  socketio: 'bench/servers/socketio.ts',
  'bare-fastify': 'bench/servers/bare-fastify.ts',
};

/** Copies the main thread's profile (`CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile`) to bench/results/. */
function keepProfile(dir: string, pid: number, name: string): void {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  const main = files.find((f) => f.includes(`.${pid}.0.`) && f.endsWith('.cpuprofile'));
  if (main !== undefined) copyFileSync(join(dir, main), join(ROOT, 'bench', 'results', name));
}

/** Starts one server in its own child process on 127.0.0.1 and waits until it answers. */
export async function startServer(
  target: Target,
  workDir: string,
  options: ServerOptions,
): Promise<RunningServer> {
  const port = await freePort();
  const host = '127.0.0.1';
  const logFile = join(workDir, `${target}-${port}.log`);
  let dataDir: string | null = null;
  let child: Child;
  // Every thread (tsx, for the reference servers, runs a loader thread) writes a profile here;
  // the main thread's is kept.
  const profileDir = join(workDir, `profile-${port}`);
  const nodeArgs =
    options.profileName === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  if (target === 'quick-im') {
    dataDir = mkdtempSync(join(tmpdir(), 'quick-im-bench-'));
    child = new Child(
      'quick-im',
      // The compiled server (`npm run bench` builds it first).
      options.noInsert === true
        ? join(ROOT, 'bench', 'servers', 'quick-im-no-insert.mjs')
        : join(options.distDir ?? join(ROOT, 'dist'), 'main.js'),
      [
        ...['--port', String(port), '--host', host, '--data-dir', dataDir],
        ...(options.logLevel === 'default' ? [] : ['--log-level', options.logLevel]),
        ...(options.rateLimits ? [] : ['--send-rate', '0', '--join-rate', '0']),
        ...options.extraFlags,
      ],
      logFile,
      { nodeArgs, cpus: options.cpus },
    );
  } else {
    child = new Child(
      target,
      join(ROOT, referenceScripts[target]),
      ['--port', String(port), '--host', host, ...(target === 'raw-ws-send' ? ['--send'] : [])],
      logFile,
      { nodeArgs, cpus: options.cpus },
    );
  }
  const baseUrl = `http://${host}:${port}`;
  const cleanup = (): void => {
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitHttp(child, baseUrl, 30_000);
  } catch (err) {
    await child.stop(2000);
    cleanup();
    throw err;
  }
  return {
    target,
    child,
    pid: child.pid,
    baseUrl,
    fdLimit: fdLimitOf(child.pid),
    async stop() {
      await child.stop(15_000);
      cleanup();
      if (options.profileName !== null) keepProfile(profileDir, child.pid, options.profileName);
    },
  };
}
