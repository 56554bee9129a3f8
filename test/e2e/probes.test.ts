import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { expectFailure, parseRawResponse, request } from '../helpers/http.js';
import { notifyUrl } from '../helpers/push-inbox.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws-client.js';

async function probe(server: TestServer, path: string): Promise<{ status: number; body: unknown }> {
  const res = await request(server.url + path, { method: 'GET' });
  return { status: res.status, body: res.body };
}

/** Reads one whole answer (with a Content-Length) from a keep-alive socket. */
function readAnswer(socket: Socket): Promise<ReturnType<typeof parseRawResponse>> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      if (!received.includes('\r\n\r\n')) return;
      const answer = parseRawResponse(received);
      if (Buffer.byteLength(answer.body) < Number(answer.headers.get('content-length'))) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(answer);
    };
    const onClose = (): void => reject(new Error(`closed before an answer: ${received}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** A keep-alive connection that has had one answer, so it is idle when shutdown begins. */
async function idleConnection(server: TestServer): Promise<Socket> {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  const answered = readAnswer(socket);
  socket.write(get('/livez'));
  assert.equal((await answered).status, 200);
  return socket;
}

/** `name{labels} value` lines of a metric, as `labels → value`. */
function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m?.[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

describe('probes', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });

  after(() => server.close(true));

  it('answers /livez and /readyz 200 while store and bus answer', async () => {
    assert.deepEqual(await probe(server, '/livez'), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await probe(server, '/readyz'), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await probe(server, '/healthz'), { status: 200, body: { status: 'ok' } });
  });

  it('answers /readyz 503 naming the bus while it does not answer; /livez stays 200', async () => {
    // Fault injection on the real in-process bus: its ping rejects as NATS's does when down.
    const bus = server.app.bus as unknown as { ping: () => Promise<void> };
    bus.ping = () => Promise.reject(new Error('bus unavailable'));
    try {
      assert.deepEqual(await probe(server, '/readyz'), {
        status: 503,
        body: { status: 'unavailable', failing: ['bus'] },
      });
      assert.deepEqual(await probe(server, '/healthz'), {
        status: 503,
        body: { status: 'unavailable' },
      });
      assert.deepEqual(await probe(server, '/livez'), { status: 200, body: { status: 'ok' } });
    } finally {
      delete (bus as { ping?: unknown }).ping;
    }
    assert.equal((await probe(server, '/readyz')).status, 200);
  });

  it('answers /readyz 503 naming the store once it is closed; /livez stays 200', async () => {
    const doomed = await startServer();
    try {
      await doomed.app.store.close();
      assert.deepEqual(await probe(doomed, '/readyz'), {
        status: 503,
        body: { status: 'unavailable', failing: ['store'] },
      });
      assert.deepEqual(await probe(doomed, '/livez'), { status: 200, body: { status: 'ok' } });
    } finally {
      await doomed.close(true);
    }
  });

  it('while draining: /readyz 503 draining, /livez 200, /healthz and the API 503 / 10002', async () => {
    const draining = await startServer();
    const sockets = await Promise.all([0, 1, 2].map(() => idleConnection(draining)));
    let closing: Promise<void> | undefined;
    try {
      closing = draining.app.close();
      // Written before the event loop turns again: on the idle connections long before the
      // server closes them.
      const answers = sockets.map((s) => readAnswer(s));
      sockets[0]!.write(get('/readyz'));
      sockets[1]!.write(get('/livez'));
      sockets[2]!.write(get('/healthz'));
      const [ready, live, health] = await Promise.all(answers);
      assert.equal(ready!.status, 503, ready!.body);
      assert.deepEqual(JSON.parse(ready!.body), { status: 'draining' });
      assert.equal(live!.status, 200, live!.body);
      assert.deepEqual(JSON.parse(live!.body), { status: 'ok' });
      for (const a of [ready!, live!, health!]) assert.equal(a.headers.get('connection'), 'close');
      expectFailure(
        {
          status: health!.status,
          body: JSON.parse(health!.body),
          headers: new Headers({ 'content-type': health!.headers.get('content-type') ?? '' }),
        },
        10002,
        503,
      );
      await withTimeout(closing, 10_000, 'app.close()');
    } finally {
      for (const s of sockets) s.destroy();
      await (closing ?? Promise.resolve());
      await draining.close(true);
    }
  });
});

describe('metrics', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });

  after(() => server.close(true));

  it('observes HTTP requests by route pattern, method and status, never by URL', async () => {
    const token = await server.token('alice');
    const cid = await server.createConversation(['alice']);
    const send = { conversation_id: cid, status: 0, type: 1, content: 'x' };
    assert.equal((await server.post('/send_msg', send, token)).status, 200);
    assert.equal(
      (await server.post('/send_msg', { ...send, conversation_id: 'zz' }, token)).status,
      404,
    );
    assert.equal((await request(server.url + '/no/such/path-123', { method: 'GET' })).status, 404);
    const text = await (await fetch(server.url + '/metrics')).text();
    const counts = series(text, 'quickim_http_request_duration_seconds_count');
    assert.equal(counts.get('{route="/send_msg",method="POST",status="200"}'), 1);
    assert.equal(counts.get('{route="/send_msg",method="POST",status="404"}'), 1);
    assert.equal(counts.get('{route="/inner/get_token",method="POST",status="200"}'), 1);
    assert.equal(counts.get('{route="unmatched",method="GET",status="404"}'), 1);
    assert.ok(
      [...counts.keys()].every((labels) => !labels.includes('path-123')),
      'no series names a URL',
    );
  });

  it('reports build info, the bus connection, bus calls by method and connections by protocol', async () => {
    const token = await server.token('bob');
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token }));
    try {
      await server.createConversation(['bob']);
      assert.equal((await request(server.url + '/readyz', { method: 'GET' })).status, 200);
      const text = await (await fetch(server.url + '/metrics')).text();
      const pkg = new URL('../../package.json', import.meta.url);
      const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
      assert.equal(
        series(text, 'quickim_build_info').get(`{version="${version}",node="${process.version}"}`),
        1,
      );
      assert.equal(series(text, 'quickim_bus_connected').get(''), 1);
      const busCalls = series(text, 'quickim_bus_call_seconds_count');
      for (const method of ['publish', 'ping', 'subscribe']) {
        assert.ok((busCalls.get(`{method="${method}"}`) ?? 0) >= 1, `bus ${method} observed`);
      }
      assert.equal(series(text, 'quickim_connections').get('{protocol="ws"}'), 1);
      assert.equal(series(text, 'quickim_bus_publish_seconds_count').size, 0, 'old name gone');
    } finally {
      await ws.close();
    }
  });
});
