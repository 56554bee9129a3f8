import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { expectFailure, expectOk, parseRawResponse, rawHttp, request } from '../helpers/http.js';
import { SseClient, WsClient, notifyUrl } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/wait.js';

/** The internet client a proxy forwards for. */
const CLIENT = '203.0.113.9';

interface Proxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1, as nginx on the same host would be: forwards every request
 * to `target` adding `X-Forwarded-For: <forwardedFor>`.
 */
async function startProxy(target: string, forwardedFor: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      {
        host: hostname,
        port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': forwardedFor },
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const tokenBody = JSON.stringify({ session: 'alice', platform: 1 });
const json = { 'content-type': 'application/json' };

/** The three loopback-or-allow-list routes, as requests. */
function gated(base: string, headers: Record<string, string> = {}) {
  return {
    innerToken: () =>
      request(`${base}/inner/get_token`, { headers: { ...json, ...headers }, body: tokenBody }),
    metrics: () => request(`${base}/metrics`, { method: 'GET', headers }),
    demoToken: () =>
      request(`${base}/demo/token`, { headers: { ...json, ...headers }, body: tokenBody }),
  };
}

describe('loopback-or-allow-list routes behind a reverse proxy', () => {
  it('refuses /inner/*, /metrics and /demo/token forwarded by a proxy not in --trust-proxy', async () => {
    const server = await startServer({ demo: true });
    const proxy = await startProxy(server.url, CLIENT);
    try {
      const via = gated(proxy.url);
      expectFailure(await via.innerToken(), 10003);
      expectFailure(await via.metrics(), 10003);
      expectFailure(await via.demoToken(), 10003);
      // Directly from loopback, with no forwarding header, all three answer.
      const direct = gated(server.url);
      expectOk(await direct.innerToken());
      assert.equal((await direct.metrics()).status, 200);
      expectOk(await direct.demoToken());
      // Forwarded or X-Real-IP count as forwarding too.
      const forwarding: Record<string, string>[] = [
        { forwarded: `for=${CLIENT}` },
        { 'x-real-ip': CLIENT },
      ];
      for (const header of forwarding) {
        expectFailure(await gated(server.url, header).innerToken(), 10003);
      }
    } finally {
      await proxy.close();
      await server.close(true);
    }
  });

  it('applies --inner-allow to the forwarded client when the proxy is trusted', async () => {
    const closed = await startServer({ demo: true, trustProxy: ['127.0.0.1'] });
    const closedProxy = await startProxy(closed.url, CLIENT);
    const open = await startServer({
      demo: true,
      trustProxy: ['127.0.0.1'],
      innerAllow: ['127.0.0.0/8', '203.0.113.0/24'],
    });
    const openProxy = await startProxy(open.url, CLIENT);
    try {
      const outside = gated(closedProxy.url);
      expectFailure(await outside.innerToken(), 10003);
      expectFailure(await outside.metrics(), 10003);
      expectFailure(await outside.demoToken(), 10003);
      const inside = gated(openProxy.url);
      expectOk(await inside.innerToken());
      assert.equal((await inside.metrics()).status, 200);
      expectOk(await inside.demoToken());
      // The rightmost address that is not a trusted proxy is the client; a spoofed left part
      // does not help.
      const spoofed = gated(open.url, { 'x-forwarded-for': `${CLIENT}, 192.0.2.1` });
      expectFailure(await spoofed.innerToken(), 10003);
      // A trusted proxy must name the client in X-Forwarded-For, not only in X-Real-IP.
      expectFailure(await gated(open.url, { 'x-real-ip': CLIENT }).innerToken(), 10003);
    } finally {
      await closedProxy.close();
      await openProxy.close();
      await closed.close(true);
      await open.close(true);
    }
  });
});

describe('loopback-or-allow-list routes and browser pages', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ demo: true });
  });

  after(() => server.close(true));

  it('refuses any Origin on /inner/* and /metrics, even the server’s own', async () => {
    for (const origin of ['http://evil.example', server.url, 'null']) {
      const via = gated(server.url, { origin });
      expectFailure(await via.innerToken(), 10003);
      expectFailure(await via.metrics(), 10003);
    }
  });

  it('admits /demo/token from its own origin only', async () => {
    const { host } = new URL(server.url);
    expectOk(await gated(server.url, { origin: `http://${host}` }).demoToken());
    for (const origin of [
      'http://evil.example',
      `https://${host}`,
      `http://${host}.evil.example`,
      `http://${host}0`,
      'null',
    ]) {
      expectFailure(await gated(server.url, { origin }).demoToken(), 10003);
    }
  });

  it('leaves the public routes and /notify open to any origin (CORS *)', async () => {
    const token = await server.token('alice');
    const headers = { ...json, origin: 'http://evil.example', authorization: `Bearer ${token}` };
    const res = await request(`${server.url}/get_joined_conversation`, { headers, body: '{}' });
    expectOk(res);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token }), {
      origin: 'http://evil.example',
    });
    assert.equal(sse.headers['access-control-allow-origin'], '*');
    await sse.close();
  });
});

/**
 * A request that never arrives whole: headers announcing `Content-Length: 100000`, then one
 * byte, to a route that reads the body. Resolves with how long the server kept the connection and what it answered.
 */
function slowRequest(port: number): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () =>
      resolve({ ms: Date.now() - started, answer: Buffer.concat(chunks).toString('utf8') }),
    );
    socket.write(
      'POST /inner/get_token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100000\r\n\r\n{',
    );
  });
}

describe('--request-timeout-ms', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ requestTimeoutMs: 1000 });
  });

  after(() => server.close(true));

  it('closes a connection whose request does not arrive whole in time', async () => {
    const { ms, answer } = await withTimeout(
      slowRequest(server.port),
      10_000,
      'the server to close a slow request',
    );
    assert.ok(ms >= 1000, `closed after ${ms} ms, before the timeout`);
    assert.ok(ms < 5000, `closed only after ${ms} ms`);
    const res = parseRawResponse(answer);
    assert.equal(res.status, 408);
    assert.equal(JSON.parse(res.body).code, 10001);
  });

  it('leaves push streams open past it once open', async () => {
    const token = await server.token('bob');
    const conversation = await server.createConversation(['bob']);
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token }));
    // Another platform: the same one would replace the SSE stream.
    const wsToken = await server.token('bob', 2);
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token: wsToken }));
    try {
      // A slow request opened after the streams is cut: the timeout check has run past
      // the streams' own deadline.
      const slow = await withTimeout(slowRequest(server.port), 10_000, 'the slow request');
      assert.ok(slow.ms >= 1000);
      assert.equal(sse.ended, false, 'the SSE stream was closed');
      assert.equal(ws.isClosed, false, 'the WebSocket was closed');
      const body = { conversation_id: conversation, status: 0, type: 0, content: 'still here' };
      const { MsgID } = expectOk(await server.post('/send_msg', body, token));
      await sse.waitForIds([MsgID]);
      await ws.waitForIds([MsgID]);
    } finally {
      await sse.close();
      await ws.close();
    }
  });

  it('sets idle keep-alive connections to close after 65 s', () => {
    assert.equal(server.app.http.server.keepAliveTimeout, 65_000);
    assert.equal(server.app.http.server.requestTimeout, 1000);
    assert.equal(server.app.http.server.headersTimeout, 1000);
  });
});

describe('oversized headers', () => {
  it('answer 431 with the 10001 envelope and close the connection', async () => {
    const server = await startServer();
    try {
      const raw = await rawHttp(
        '127.0.0.1',
        server.port,
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      );
      const res = parseRawResponse(raw);
      assert.equal(res.status, 431);
      assert.equal(res.headers.get('connection'), 'close');
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = JSON.parse(res.body);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'error']);
      assert.equal(body.code, 10001);
    } finally {
      await server.close(true);
    }
  });
});
