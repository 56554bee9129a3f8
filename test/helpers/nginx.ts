import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from './processes.js';

/** Debian's nginx (apt-get install nginx). */
export const NGINX_BIN = '/usr/sbin/nginx';

/** The site file docs/deploy.md documents. */
export const DOCUMENTED_SITE = fileURLToPath(new URL('../../docs/nginx.conf', import.meta.url));

/** Why nginx tests cannot run here, or undefined when they can. */
export function nginxUnavailable(): string | undefined {
  return existsSync(NGINX_BIN) ? undefined : `nginx is not installed (no ${NGINX_BIN})`;
}

export interface SitePorts {
  /** Where quick-im listens, `127.0.0.1:<port>`: replaces the documented upstream. */
  readonly upstream: string;
  /** The port the documented HTTPS server block listens on, here on plain HTTP. */
  readonly port: number;
  /** The port of the documented HTTP-to-HTTPS redirect. */
  readonly redirectPort: number;
}

/** Replaces every match of `pattern` in `text`, insisting on exactly `count` of them. */
function replaceExactly(text: string, pattern: RegExp, by: string, count: number): string {
  const found = text.match(pattern)?.length ?? 0;
  if (found !== count) {
    throw new Error(`docs/nginx.conf: expected ${count} match(es) of ${pattern}, found ${found}`);
  }
  return text.replace(pattern, by);
}

/**
 * The documented site on loopback and plain HTTP: the upstream address, the `listen` lines,
 * the `ssl_*` lines and the log directory (to `logDir`) change; every other line is the
 * documented one. Throws if the file
 * no longer has the lines it rewrites, so the documentation and this test cannot drift apart.
 */
export function renderSite(site: string, ports: SitePorts, logDir: string): string {
  let text = site;
  text = replaceExactly(text, /\/var\/log\/nginx\//g, `${logDir}/`, 1);
  text = replaceExactly(text, /server 127\.0\.0\.1:8088;/g, `server ${ports.upstream};`, 1);
  text = replaceExactly(text, /^\s*listen \[::\]:(80|443 ssl);\n/gm, '', 2);
  text = replaceExactly(text, /listen 80;/g, `listen 127.0.0.1:${ports.redirectPort};`, 1);
  text = replaceExactly(text, /listen 443 ssl;/g, `listen 127.0.0.1:${ports.port};`, 1);
  text = replaceExactly(text, /^\s*ssl_\w+\s[^\n]*\n/gm, '', 5);
  return text;
}

export interface Nginx {
  /** `http://127.0.0.1:<port>`: the documented HTTPS server block, on plain HTTP. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`: the documented redirect to HTTPS. */
  readonly redirectUrl: string;
  /** What nginx wrote to the access log of the documented site so far. */
  accessLog(): string;
  /** Stops nginx (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** nginx's group for `nobody` on Debian (`nogroup`), elsewhere `nobody`. */
function nobodyGroup(): string {
  const groups = readFileSync('/etc/group', 'utf8');
  return /^nogroup:/m.test(groups) ? 'nogroup' : 'nobody';
}

/**
 * Starts nginx in the foreground with `site` (docs/nginx.conf as `renderSite` makes it) in an
 * otherwise minimal configuration: pid, logs and temporary files in a fresh directory. As root,
 * its workers run as `nobody`.
 */
export async function startNginx(sitePath: string, upstreamUrl: string): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-nginx-'));
  const [port, redirectPort] = [await freePort(), await freePort()];
  const upstream = new URL(upstreamUrl).host;
  writeFileSync(
    join(dir, 'site.conf'),
    renderSite(readFileSync(sitePath, 'utf8'), { upstream, port, redirectPort }, dir),
  );
  const root = process.getuid?.() === 0;
  // Workers (as nobody) create and read the temporary files below this directory.
  if (root) chmodSync(dir, 0o755);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `    ${kind}_temp_path ${join(dir, kind)};`)
    .join('\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes 1;',
      root ? `user nobody ${nobodyGroup()};` : '',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      temp,
      `    include ${join(dir, 'site.conf')};`,
      '}',
      '',
    ].join('\n'),
  );

  const errorLog = (): string => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const child: ChildProcess = spawn(
    NGINX_BIN,
    ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', conf],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const accepts = (p: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(p, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`nginx exited ${child.exitCode}: ${stderr}${errorLog()}`);
        }
        return (await accepts(port)) && (await accepts(redirectPort));
      },
      10_000,
      'nginx to accept connections',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    redirectUrl: `http://127.0.0.1:${redirectPort}`,
    accessLog: () => readFileSync(join(dir, 'quick-im.access.log'), 'utf8'),
    stop,
  };
}
