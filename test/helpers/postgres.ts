import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, waitUntil } from './processes.js';

const PG_USER = 'quickim-pg';

/** The directory holding `initdb` and `postgres`, or undefined when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/**
 * PostgreSQL refuses to run as root: as root, run it as a dedicated system user (created on
 * first use) by spawning with that uid, so signals reach postgres itself.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('id', ['-u', PG_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      PG_USER,
    ]);
  }
  const uid = Number(execFileSync('id', ['-u', PG_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', PG_USER]).toString().trim());
  return { uid, gid };
}

export interface PostgresServer {
  /** `postgres://…` for the database `quickim`. */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid (its backends are its children), or -1 while stopped. */
  readonly pid: number;
  /** Stops the server (fast shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** A fresh empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops and removes everything. */
  destroy(): Promise<void>;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  return postgresBin()
    ? undefined
    : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
}

let dbCounter = 0;

/**
 * Starts a throwaway PostgreSQL on 127.0.0.1 and a free port, in a temporary directory. By
 * default nothing waits for the disk (tests); `settings` (`name=value`) override that.
 */
export async function startPostgres(settings: readonly string[] = []): Promise<PostgresServer> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresUnavailable());
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { stdio: 'ignore', cwd: dir, ...user },
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;

  async function start(): Promise<void> {
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      ...settings.flatMap((setting) => ['-c', setting]),
    ];
    const proc = spawn(join(bin as string, 'postgres'), args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: dir,
      ...user,
    });
    child = proc;
    let log = '';
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    await waitUntil(
      async () => {
        if (proc.exitCode !== null) throw new Error(`postgres exited: ${log}`);
        const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 1000 });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => {});
        }
      },
      30_000,
      'postgres to accept connections',
    );
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    await exited;
  }

  async function createDatabase(): Promise<string> {
    const name = `quickim_${process.pid}_${++dbCounter}`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return `postgres://postgres@127.0.0.1:${port}/${name}`;
  }

  await start();
  const url = await createDatabase();
  return {
    url,
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    start,
    stop,
    createDatabase,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
