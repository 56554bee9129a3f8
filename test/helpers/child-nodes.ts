import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './processes.js';
import type { ApiResponse } from './server.js';

// quick-im nodes (and scripts embedding one) as child processes, through the real entry point.

/** The repository root: child nodes run the compiled `dist/main.js` from here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The compiled entry point; `npm test` builds it first (`pretest`). */
export const MAIN_JS = 'dist/main.js';

/** What a test needs of a node, whether it runs in this process or as a child process. */
export interface ApiNode {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** POSTs JSON; `token` goes in `Authorization: Bearer`. Rejects only on a network failure. */
  post(path: string, body: unknown, token?: string): Promise<ApiResponse>;
}

/** One request whose body is parsed as JSON when it is JSON. */
export async function fetchJson(url: string, init: RequestInit = {}): Promise<ApiResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** An `ApiNode` for a node listening at `url`. */
export function apiNode(url: string): ApiNode {
  return {
    url,
    post(path, body, token) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      return fetchJson(url + path, { method: 'POST', headers, body: JSON.stringify(body) });
    },
  };
}

// Every child still running; a crashed test run must not leave nodes behind holding ports
// and database connections.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A node running the compiled server in a child process. */
export interface NodeProcess extends ApiNode {
  readonly pid: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Sends `signal` and waits (bounded) for the exit; SIGKILL if SIGTERM is not enough. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Settings come from the flags only; NODE_TEST_CONTEXT would make a child think it is a test.
    if (!k.startsWith('QUICKIM_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  }
  return env;
}

/** Runs node with `args` from the repository root; killed when this process exits. */
function spawnNode(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function spawnMain(args: readonly string[]): ChildProcess {
  if (!existsSync(join(REPO_ROOT, MAIN_JS))) {
    throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  }
  return spawnNode([MAIN_JS, ...args]);
}

/** A child process running an ES module given as text. */
export interface ScriptProcess {
  /** Its stdout, line by line, as they arrive. */
  readonly lines: readonly string[];
  stderr(): string;
  /** Set once it has exited. */
  exit(): Exit | undefined;
  /** SIGKILLs it unless it has exited; resolves once it has. */
  kill(): Promise<Exit>;
}

/** Runs `code` (an ES module; it may import `./src/….ts`) with `args` in `process.argv.slice(1)`. */
export function spawnScript(code: string, args: readonly string[]): ScriptProcess {
  // The script imports TypeScript sources, so it runs through tsx (a development dependency).
  const child = spawnNode(['--import', 'tsx', '--input-type=module', '-e', code, ...args]);
  const lines: string[] = [];
  let stderr = '';
  let exit: Exit | undefined;
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) =>
    lines.push(l),
  );
  const exited = exitOf(child).then((e) => (exit = e));
  return {
    lines,
    stderr: () => stderr,
    exit: () => exit,
    async kill() {
      if (exit === undefined) child.kill('SIGKILL');
      return exited;
    },
  };
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export interface MainRun extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled server with `args` and waits for it to exit; kills it after `timeoutMs`. */
export async function runMain(args: readonly string[], timeoutMs = 20_000): Promise<MainRun> {
  const child = spawnMain(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  // 'close', unlike 'exit', waits until both pipes have been read to their end.
  const exit = await new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** Starts the compiled server with `args`; resolves once it logged "listening" with its address. */
export async function startNodeProcess(
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<NodeProcess> {
  const child = spawnMain(['--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const exited = exitOf(child);
  let address: string | undefined;
  // Read stdout to its end: a node blocks on a full pipe once it logs every request.
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (address !== undefined || !line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; address?: unknown };
      if (entry.msg === 'listening' && typeof entry.address === 'string') address = entry.address;
    } catch {
      // not a log line
    }
  });
  try {
    await waitUntil(
      () => {
        if (child.exitCode !== null) throw new Error(`node exited early: ${stderr}`);
        return address !== undefined;
      },
      timeoutMs,
      'a child node to log "listening"',
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const url = (address as string).replace('://localhost', '://127.0.0.1');
  return {
    url,
    pid: child.pid as number,
    post: apiNode(url).post,
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}
