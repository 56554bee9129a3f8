import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { expectFailure, expectOk, request } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

/** Valid bodies for every inner endpoint (the conversation need not exist to be refused first). */
const innerCalls: [string, Record<string, unknown>][] = [
  ['/inner/get_token', { session: 'alice', platform: 1 }],
  ['/inner/create_conversation', { conversation_type: 0, sessions: ['alice'] }],
  ['/inner/kickout_conversation', { conversation_id: 'c', sessions: ['alice'] }],
  ['/inner/join_conversation', { conversation_id: 'c', sessions: ['alice'] }],
  ['/inner/set_archive_conversations', { conversation_ids: ['c'], is_archive: true }],
];

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return request(url, {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Whether this host can listen on the IPv6 loopback. */
function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('inner endpoints over HTTP', () => {
  it('answer from loopback with the contract envelopes', async () => {
    const server = await startServer();
    try {
      const token = expectOk(
        await server.post('/inner/get_token', { session: 'alice', platform: 0 }),
      );
      assert.equal(typeof token, 'string');
      assert.equal(token.split('.').length, 3);
      const { ConversationId: id } = expectOk(
        await server.post('/inner/create_conversation', {
          conversation_type: 0,
          sessions: ['alice'],
        }),
      );
      assert.deepEqual(
        expectOk(
          await server.post('/inner/join_conversation', { conversation_id: id, sessions: ['bob'] }),
        ),
        { ConversationId: id },
      );
      assert.deepEqual(
        expectOk(
          await server.post('/inner/kickout_conversation', {
            conversation_id: id,
            sessions: ['bob'],
          }),
        ),
        { ConversationId: id },
      );
      const archive = await server.post('/inner/set_archive_conversations', {
        conversation_ids: [id],
        is_archive: true,
      });
      assert.equal(archive.status, 200);
      assert.deepEqual(archive.body, { code: 0 });
      assert.equal(Object.hasOwn(archive.body, 'data'), false);
    } finally {
      await server.close(true);
    }
  });

  describe('with innerAllow 10.0.0.0/8', () => {
    let server: TestServer;

    before(async () => {
      server = await startServer({ innerAllow: ['10.0.0.0/8'] });
    });

    after(() => server.close(true));

    it('answers 10003 to 127.0.0.1 on every inner path, before reading the body', async () => {
      for (const [path, body] of innerCalls) {
        expectFailure(await post(server.url + path, body), 10003);
        expectFailure(await post(server.url + path, 'not even an object'), 10003);
      }
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      for (const [path, body] of innerCalls) {
        expectFailure(
          await post(server.url + path, body, { 'x-forwarded-for': '10.1.2.3' }),
          10003,
        );
      }
    });

    it('still serves the public routes', async () => {
      const res = await request(server.url + '/healthz', { method: 'GET' });
      assert.equal(res.status, 200);
    });
  });

  it('believes X-Forwarded-For from a proxy named by trustProxy', async () => {
    const server = await startServer({ innerAllow: ['10.0.0.0/8'], trustProxy: ['127.0.0.1'] });
    try {
      const url = server.url + '/inner/get_token';
      const body = { session: 'alice', platform: 1 };
      expectOk(await post(url, body, { 'x-forwarded-for': '10.1.2.3' }));
      expectOk(await post(url, body, { 'x-forwarded-for': '192.0.2.1, 10.9.9.9' }));
      expectFailure(await post(url, body, { 'x-forwarded-for': '192.0.2.1' }), 10003);
      expectFailure(await post(url, body, { 'x-forwarded-for': '10.1.2.3, 192.0.2.1' }), 10003);
      expectFailure(await post(url, body), 10003);
    } finally {
      await server.close(true);
    }
  });

  it('refuses a loopback peer forwarding for someone when it is not in trustProxy', async () => {
    // A reverse proxy on the same host must not turn every internet client into loopback.
    const server = await startServer();
    try {
      const res = await post(
        server.url + '/inner/get_token',
        { session: 'a', platform: 1 },
        {
          'x-forwarded-for': '192.0.2.1',
        },
      );
      expectFailure(res, 10003);
    } finally {
      await server.close(true);
    }
  });

  it('accepts inner calls from ::1 by default', async (t) => {
    if (!(await hasIpv6Loopback())) {
      t.skip('this host has no IPv6 loopback (::1)');
      return;
    }
    const v6 = await startServer({ host: '::1' });
    try {
      assert.match(v6.url, /^http:\/\/\[::1\]:\d+$/);
      const token = expectOk(
        await post(v6.url + '/inner/get_token', { session: 'alice', platform: 1 }),
      );
      assert.equal(typeof token, 'string');
      const joined = await request(v6.url + '/get_joined_conversation', {
        headers: { authorization: `Bearer ${token}` },
      });
      expectOk(joined);
    } finally {
      await v6.close(true);
    }
    // Control: ::1 is admitted by the allow-list, not by anything else.
    const v4Only = await startServer({ host: '::1', innerAllow: ['127.0.0.0/8'] });
    try {
      expectFailure(
        await post(v4Only.url + '/inner/get_token', { session: 'a', platform: 1 }),
        10003,
      );
    } finally {
      await v4Only.close(true);
    }
  });
});
