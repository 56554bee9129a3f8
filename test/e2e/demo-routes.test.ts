import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SettingsError, loadSettings } from '../../src/config/settings.js';
import { systemClock } from '../../src/domain/clock.js';
import { DEMO_CSP, isLoopbackPeer, registerDemoRoutes } from '../../src/demo/demo-routes.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { TokenService } from '../../src/services/token-service.js';
import {
  expectFailure,
  expectOk,
  parseRawResponse,
  postRaw,
  rawHttp,
  request,
} from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

/** The demo routes alone on a real port, with `sdkDir` as the SDK's build output. */
async function startDemoOnly(sdkDir: string): Promise<{ http: FastifyInstance; url: string }> {
  const http = createHttpServer({
    logger: createLogger('silent'),
    maxBodyBytes: 1_048_576,
    trustProxy: [],
    requestTimeoutMs: 30_000,
  });
  registerDemoRoutes(http, { tokens: new TokenService('demo-test-key', 60, systemClock), sdkDir });
  const url = await http.listen({ host: '127.0.0.1', port: 0 });
  return { http, url };
}

/** A GET sent byte for byte, so `..` and `%2e%2e` reach the server unnormalised. */
async function rawGet(url: string, path: string) {
  const { hostname, port } = new URL(url);
  const raw = await rawHttp(
    hostname,
    Number(port),
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`,
  );
  return parseRawResponse(raw);
}

/** A local address that is not loopback (e.g. the machine's LAN address), if it has one. */
function nonLoopbackAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return all.find((a) => !a.internal && !a.address.startsWith('fe80:'))?.address;
}

describe('demo setting', () => {
  it('is on by default and parses true/false/1/0 from flag, environment and config', () => {
    assert.equal(loadSettings([], {}).demo, false);
    assert.equal(loadSettings(['--demo', 'false'], {}).demo, false);
    assert.equal(loadSettings(['--demo', '1'], { QUICKIM_DEMO: 'false' }).demo, true);
    assert.equal(loadSettings([], { QUICKIM_DEMO: '0' }).demo, false);
    const dir = mkdtempSync(join(tmpdir(), 'quick-im-demo-config-'));
    try {
      const config = join(dir, 'config.json');
      writeFileSync(config, JSON.stringify({ demo: false }));
      assert.equal(loadSettings(['--config', config], {}).demo, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects anything else with a one-line error naming --demo', () => {
    for (const bad of ['yes', 'TRUE', '', ' true', '2']) {
      assert.throws(
        () => loadSettings(['--demo', bad], {}),
        (err: unknown) =>
          err instanceof SettingsError &&
          err.message.startsWith('--demo:') &&
          !err.message.includes('\n'),
        JSON.stringify(bad),
      );
    }
  });
});

describe('GET /demo and its files', () => {
  const sdkDir = mkdtempSync(join(tmpdir(), 'quick-im-demo-sdk-'));
  let demo: { http: FastifyInstance; url: string };

  before(async () => {
    mkdirSync(join(sdkDir, 'transports'));
    writeFileSync(join(sdkDir, 'index.js'), 'export * from "./transports/ws.js";\n');
    writeFileSync(join(sdkDir, 'transports', 'ws.js'), 'export const ws = 1;\n');
    writeFileSync(join(sdkDir, 'index.d.ts'), 'export declare const ws: number;\n');
    writeFileSync(join(sdkDir, 'index.js.map'), '{}');
    demo = await startDemoOnly(sdkDir);
  });

  after(async () => {
    await demo.http.close();
    rmSync(sdkDir, { recursive: true, force: true });
  });

  it('serves the page with no-cache and a CSP allowing only same-origin scripts', async () => {
    const res = await request(`${demo.url}/demo`, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.equal(csp, DEMO_CSP);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(String(res.body), /<script type="module" src="\/demo\/app\.js"><\/script>/);
  });

  it("serves the page's own files and every module of the SDK, each with its type", async () => {
    const expected: [string, string][] = [
      ['/demo/app.js', 'text/javascript; charset=utf-8'],
      ['/demo/style.css', 'text/css; charset=utf-8'],
      ['/demo/index.html', 'text/html; charset=utf-8'],
      ['/demo/sdk/index.js', 'text/javascript; charset=utf-8'],
      ['/demo/sdk/transports/ws.js', 'text/javascript; charset=utf-8'],
    ];
    for (const [path, type] of expected) {
      const res = await request(demo.url + path, { method: 'GET' });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.equal(res.headers.get('content-security-policy'), DEMO_CSP, path);
    }
    const ws = await request(`${demo.url}/demo/sdk/transports/ws.js`, { method: 'GET' });
    assert.equal(ws.body, 'export const ws = 1;\n');
  });

  it('answers 404/10404 for files off the whitelist, even inside the served directories', async () => {
    for (const path of [
      '/demo/sdk/index.d.ts',
      '/demo/sdk/index.js.map',
      '/demo/nope.js',
      '/demo/',
      '/demo/sdk/',
      '/demo/public/app.js',
      '/demo/demo-routes.ts',
    ]) {
      expectFailure(await request(demo.url + path, { method: 'GET' }), 10404);
    }
  });

  it('never serves anything outside the whitelist through .. or encoded separators', async () => {
    for (const path of [
      '/demo/../package.json',
      '/demo/%2e%2e/package.json',
      '/demo/%2E%2E/%2E%2E/package.json',
      '/demo/%2e%2e%2fpackage.json',
      '/demo/..%2f..%2f..%2fpackage.json',
      '/demo/..%5c..%5cpackage.json',
      '/demo/sdk/../../../../package.json',
      '/demo/sdk/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/demo/sdk/..%2findex.js',
      '/demo//etc/passwd',
      '/demo/%2fetc%2fpasswd',
      '/demo/sdk/%00index.js',
      '/demo/app.js%00.html',
    ]) {
      const res = await rawGet(demo.url, path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(JSON.parse(res.body), { code: 10404, error: 'no such route' }, path);
    }
  });

  it('answers 503 naming `npm run build` while the SDK is not built, and serves once it is', async () => {
    const missing = join(sdkDir, 'not-built-yet');
    const unbuilt = await startDemoOnly(missing);
    try {
      const res = await request(`${unbuilt.url}/demo`, { method: 'GET' });
      expectFailure(res, 10002, 503);
      assert.match(res.body.error, /npm run build/);
      expectFailure(await request(`${unbuilt.url}/demo/sdk/index.js`, { method: 'GET' }), 10404);
      mkdirSync(missing);
      writeFileSync(join(missing, 'index.js'), 'export {};\n');
      assert.equal((await request(`${unbuilt.url}/demo`, { method: 'GET' })).status, 200);
      const sdk = await request(`${unbuilt.url}/demo/sdk/index.js`, { method: 'GET' });
      assert.equal(sdk.status, 200);
    } finally {
      await unbuilt.http.close();
    }
  });
});

describe('POST /demo/token', () => {
  const logLines: string[] = [];
  let server: TestServer;

  before(async () => {
    const capture = { write: (line: string) => void logLines.push(line) };
    server = await startServer(
      { demo: true, trustProxy: ['127.0.0.1'] },
      { logger: pino({ level: 'info' }, capture) },
    );
  });

  after(() => server.close(true));

  it('gives a loopback peer a working token for any session and platform, and logs no token', async () => {
    const token = expectOk(await server.post('/demo/token', { session: 'alice', platform: 7 }));
    assert.equal(typeof token, 'string');
    const joined = expectOk(await server.post('/get_joined_conversation', {}, token));
    assert.deepEqual(joined, { Conversations: [] });
    assert.ok(logLines.length > 0, 'the request was logged');
    assert.ok(!logLines.join('\n').includes(token), 'a log line holds the token');
  });

  it('validates the body like /inner/get_token: 400/10001', async () => {
    const bad: unknown[] = [
      {},
      { session: 'alice' },
      { platform: 1 },
      { session: '', platform: 1 },
      { session: 'alice', platform: 256 },
      { session: 'alice', platform: -1 },
      { session: 'alice', platform: '1' },
      { session: 'alice', platform: 1.5 },
      { session: 7, platform: 1 },
      { session: 'x'.repeat(129), platform: 1 },
      { session: '€'.repeat(43), platform: 1 }, // 43 characters, 129 bytes of UTF-8
      [],
    ];
    for (const body of bad) {
      expectFailure(await server.post('/demo/token', body), 10001);
      const inner = await server.post('/inner/get_token', body);
      assert.equal(inner.status, 400, `/inner/get_token agrees on ${JSON.stringify(body)}`);
    }
    expectFailure(await postRaw(`${server.url}/demo/token`, '{"session": "alice",'), 10001);
    expectFailure(
      await request(`${server.url}/demo/token`, {
        headers: { 'content-type': 'text/plain' },
        body: 'alice',
      }),
      10001,
    );
  });

  it('applies the inner allow-list to the client a trusted proxy forwards for', async () => {
    // 127.0.0.1 is a trusted proxy here: the client is the forwarded address, outside
    // the default allow-list (loopback).
    const res = await request(`${server.url}/demo/token`, {
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ session: 'alice', platform: 1 }),
    });
    expectFailure(res, 10003);
  });

  it('has no GET, and answers nothing else under its path', async () => {
    expectFailure(await request(`${server.url}/demo/token`, { method: 'GET' }), 10404);
    expectFailure(await server.post('/demo/token/x', { session: 'a', platform: 1 }), 10404);
  });
});

describe('the loopback check', () => {
  it('admits 127.0.0.0/8, ::1 and IPv4-mapped loopback only', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackPeer(a), true, a);
    }
    for (const a of [
      '192.0.2.2',
      '10.0.0.1',
      '0.0.0.0',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:192.0.2.2',
      'fd00::2',
      '::',
      '::2',
      'localhost',
      '',
      undefined,
    ]) {
      assert.equal(isLoopbackPeer(a), false, String(a));
    }
  });

  const address = nonLoopbackAddress();
  it(
    'refuses a token to a peer on a non-loopback address, even one claiming to forward for 127.0.0.1',
    { skip: address === undefined ? 'this machine has no non-loopback address' : false },
    async () => {
      const host = address as string;
      const server = await startServer({ demo: true, host });
      try {
        const body = JSON.stringify({ session: 'alice', platform: 1 });
        const headers = { 'content-type': 'application/json' };
        const res = await request(`${server.url}/demo/token`, { headers, body });
        expectFailure(res, 10003);
        const forwarded = await request(`${server.url}/demo/token`, {
          headers: { ...headers, 'x-forwarded-for': '127.0.0.1' },
          body,
        });
        expectFailure(forwarded, 10003);
        // The check runs before the body is read: a bad body from there is still 403.
        expectFailure(await postRaw(`${server.url}/demo/token`, '{'), 10003);
      } finally {
        await server.close(true);
      }
    },
  );
});

describe('with --demo false', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ demo: false });
  });

  after(() => server.close(true));

  it('answers every /demo path 404/10404 like any unknown route', async () => {
    for (const path of ['/demo', '/demo/', '/demo/app.js', '/demo/sdk/index.js', '/demo/token']) {
      expectFailure(await request(server.url + path, { method: 'GET' }), 10404);
    }
    expectFailure(await server.post('/demo/token', { session: 'alice', platform: 1 }), 10404);
  });
});
