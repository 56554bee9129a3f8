import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { freePort, waitUntil } from './processes.js';

/** Why NATS tests cannot run here, or undefined when they can. */
export function natsUnavailable(): string | undefined {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nats-server is not installed (apt-get install nats-server)';
  }
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** nats-server's pid, or -1 while stopped. */
  readonly pid: number;
  /** The monitoring endpoint (`/connz`, `/varz`), when started with `{ monitor: true }`. */
  readonly monitorUrl: string | null;
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** Starts a nats-server on 127.0.0.1 and a free port. */
export async function startNats(options: { monitor?: boolean } = {}): Promise<NatsServer> {
  const port = await freePort();
  const monitorPort = options.monitor === true ? await freePort() : null;
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const monitor = monitorPort === null ? [] : ['-m', String(monitorPort)];
    const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...monitor], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child = proc;
    await waitUntil(
      async () => {
        if (proc.exitCode !== null) throw new Error('nats-server exited');
        try {
          const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
          await nc.close();
          return true;
        } catch {
          return false;
        }
      },
      15_000,
      'nats-server to accept connections',
    );
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    url,
    monitorUrl: monitorPort === null ? null : `http://127.0.0.1:${monitorPort}`,
    get pid() {
      return child?.pid ?? -1;
    },
    start,
    stop,
  };
}
