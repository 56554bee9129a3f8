import { mkdtempSync, rmSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { defaultSettings } from '../../src/config/settings.js';
import type { Settings } from '../../src/config/settings.js';
import type { Clock } from '../../src/domain/clock.js';

export interface TestServer {
  readonly app: App;
  /** `http://127.0.0.1:<port>`, or `http://[<host>]:<port>` when listening on one IPv6 address. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly settings: Settings;
  /** POSTs JSON; `token` goes in `Authorization: Bearer`. */
  post(path: string, body: unknown, token?: string): Promise<ApiResponse>;
  /** A token from `/inner/get_token`. */
  token(session: string, platform?: number): Promise<string>;
  /** Creates a conversation through `/inner/create_conversation`; returns its id. */
  createConversation(sessions: readonly string[], type?: number): Promise<string>;
  /** Closes the app; keeps the data directory unless `removeData`. */
  close(removeData?: boolean): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field in tests
  readonly body: any;
  readonly headers: Headers;
}

/** Fresh temporary data directory. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'quick-im-test-'));
}

export interface StartOptions {
  /** Replaces the silent default logger, e.g. a pino logger writing to a capture stream. */
  readonly logger?: FastifyBaseLogger;
  /** A clock the test advances; the app then runs no timer and the test calls `app.hub.tick()`. */
  readonly clock?: Clock;
}

/** The address a client dials for a server listening on `host`. */
function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}

/** Starts a real server on 127.0.0.1, port 0 (or `overrides.port`), with its own data directory (or `dataDir`). */
export async function startServer(
  overrides: Partial<Settings> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? tempDataDir();
  const settings = defaultSettings({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    // Tests send bursts from one session; the limits have their own tests, which set them.
    sendRate: 0,
    joinRate: 0,
    ...overrides,
    dataDir,
  });
  const app = await buildApp(settings, options);
  await app.http.listen({ host: settings.host, port: settings.port });
  const address = app.http.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://${dialHost(settings.host)}:${address.port}`;

  async function post(path: string, body: unknown, token?: string): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  return {
    app,
    url,
    port: address.port,
    dataDir,
    settings,
    post,
    async token(session, platform = 1) {
      const res = await post('/inner/get_token', { session, platform });
      if (res.status !== 200) throw new Error(`get_token failed: ${JSON.stringify(res.body)}`);
      return res.body.data as string;
    },
    async createConversation(sessions, type = 0) {
      const res = await post('/inner/create_conversation', { conversation_type: type, sessions });
      if (res.status !== 200) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
      return res.body.data.ConversationId as string;
    },
    async close(removeData = false) {
      await app.close();
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
