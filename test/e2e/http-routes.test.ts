import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectFailure, expectOk, request } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const publicPaths = [
  '/send_msg',
  '/check_joined_conversation',
  '/get_joined_conversation',
  '/get_conversation_detail',
  '/join_conversation',
  '/create_conversation',
  '/leave_conversation',
  '/get_lastone_msgid',
  '/get_conversation_msg_by_range',
  '/get_conversation_30msg_before_the_id',
  '/get_conversation_30msg_after_the_id',
  '/get_conversation_last_30_msg',
  '/get_conversation_lastone_msg',
];

const innerPaths = [
  '/inner/get_token',
  '/inner/create_conversation',
  '/inner/kickout_conversation',
  '/inner/join_conversation',
  '/inner/set_archive_conversations',
];

function headerList(value: string | null): string[] {
  return (value ?? '').split(',').map((s) => s.trim().toLowerCase());
}

describe('routes over HTTP', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startServer();
    token = await server.token('alice');
  });

  after(() => server.close(true));

  it('answers GET / with the text quick-im', async () => {
    const res = await fetch(server.url + '/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), 'quick-im');
  });

  it('answers GET /healthz with 200 {"status":"ok"}', async () => {
    const res = await request(server.url + '/healthz', { method: 'GET' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  it('answers GET /metrics with Prometheus text that counts accepted messages', async () => {
    const token = await server.token('metrics-user');
    const cid = await server.createConversation(['metrics-user']);
    const sent = await server.post(
      '/send_msg',
      { conversation_id: cid, status: 0, type: 1, content: 'x' },
      token,
    );
    assert.equal(sent.status, 200);
    const res = await fetch(server.url + '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# (HELP|TYPE) /m);
    const accepted = /^quickim_messages_accepted_total (\d+)$/m.exec(text);
    assert.ok(accepted && Number(accepted[1]) >= 1, 'accepted counter moved');
    assert.match(text, /^quickim_connections\{protocol="ws"\} 0$/m);
  });

  it('refuses GET /metrics outside the inner allow-list', async () => {
    const closed = await startServer({ innerAllow: ['10.0.0.0/8'] });
    try {
      const res = await request(closed.url + '/metrics', { method: 'GET' });
      expectFailure(res, 10003);
    } finally {
      await closed.close(true);
    }
  });

  it('answers unknown routes and wrong methods with 10404 before any token check', async () => {
    const cases: [string, string][] = [
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['POST', '/'],
      ['GET', '/send_msg'],
      ['PUT', '/send_msg'],
      ['DELETE', '/get_conversation_detail'],
      ['GET', '/inner/get_token'],
      ['POST', '/inner/nope'],
      ['POST', '/healthz'],
    ];
    for (const [method, path] of cases) {
      const res = await request(server.url + path, { method });
      try {
        expectFailure(res, 10404);
      } catch (err) {
        assert.fail(`${method} ${path}: ${(err as Error).message}`);
      }
    }
    // A bad token changes nothing: the route is refused first.
    const withBadToken = await request(server.url + '/send_msg', {
      method: 'GET',
      headers: { authorization: 'Bearer nonsense' },
    });
    expectFailure(withBadToken, 10404);
  });

  it('allows any origin on public endpoints, errors included', async () => {
    for (const path of publicPaths) {
      const res = await request(server.url + path, {
        headers: {
          origin: 'https://app.example',
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      assert.equal(res.headers.get('access-control-allow-origin'), '*', path);
    }
    const unauthorized = await request(server.url + '/send_msg', {
      headers: { origin: 'https://app.example' },
    });
    expectFailure(unauthorized, 10101);
    assert.equal(unauthorized.headers.get('access-control-allow-origin'), '*');
  });

  it('answers CORS preflights on public endpoints without a token', async () => {
    for (const path of publicPaths) {
      const res = await fetch(server.url + path, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      assert.ok(res.status >= 200 && res.status < 300, `${path}: ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*', path);
      const allowed = headerList(res.headers.get('access-control-allow-headers'));
      assert.ok(allowed.includes('authorization'), `${path}: ${allowed.join(',')}`);
      assert.ok(allowed.includes('content-type'), `${path}: ${allowed.join(',')}`);
      assert.ok(headerList(res.headers.get('access-control-allow-methods')).includes('post'));
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
    }
  });

  it('sends no CORS header from /inner/*', async () => {
    for (const path of innerPaths) {
      const post = await request(server.url + path, {
        headers: { origin: 'https://app.example', 'content-type': 'application/json' },
        body: '{}',
      });
      // A browser page never reaches /inner/*: refused before the body is read.
      expectFailure(post, 10003);
      const preflight = await fetch(server.url + path, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      for (const res of [post.headers, preflight.headers]) {
        const cors = [...res.keys()].filter((k) => k.startsWith('access-control-'));
        assert.deepEqual(cors, [], path);
      }
    }
  });

  it('answers 503 from /healthz and 10002 from the API once the store is closed', async () => {
    const doomed = await startServer();
    try {
      const t = await doomed.token('alice');
      const id = await doomed.createConversation(['alice']);
      expectOk(
        await doomed.post(
          '/send_msg',
          { conversation_id: id, status: 0, type: 0, content: 'x' },
          t,
        ),
      );
      await doomed.app.store.close();

      const health = await request(doomed.url + '/healthz', { method: 'GET' });
      assert.equal(health.status, 503);
      assert.notDeepEqual(health.body, { status: 'ok' });
      expectFailure(
        await doomed.post(
          '/send_msg',
          { conversation_id: id, status: 0, type: 0, content: 'x' },
          t,
        ),
        10002,
        503,
      );
      expectFailure(
        await doomed.post('/get_conversation_last_30_msg', { conversation_id: id }, t),
        10002,
        503,
      );
      expectFailure(
        await doomed.post('/inner/create_conversation', { conversation_type: 0, sessions: ['a'] }),
        10002,
        503,
      );
      // Nothing internal leaks into the answer.
      const res = await doomed.post('/get_conversation_detail', { conversation_id: id }, t);
      assert.doesNotMatch(JSON.stringify(res.body), /at .*\.ts:\d+|SqliteError|TypeError/);
    } finally {
      await doomed.close(true);
    }
  });
});
