import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollSession } from '../../src/transports/poll-session.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { SseClient, WsClient, notifyUrl, poll } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

// EXTENSIONS.md "Server-side operations": /inner/revoke_session on one node.

/** A public call that needs nothing but a valid token. */
async function statusWith(server: TestServer, token: string): Promise<[number, number]> {
  const res = await server.post('/get_joined_conversation', {}, token);
  return [res.status, res.body.code as number];
}

/** Resolves once a poll of (session, platform) is waiting inside the Hub. */
function pollWaiting(server: TestServer, session: string, platform: number): Promise<void> {
  return waitFor(
    () => {
      const wire = server.app.hub.find(session, platform)?.wire;
      return wire instanceof PollSession && wire.capacity() > 0;
    },
    5000,
    'the poll to wait',
  );
}

describe('/inner/revoke_session on one node', () => {
  it('refuses every token of the session issued up to that second at once, closes its connections, and accepts a later token', async () => {
    const clock = new ManualClock();
    const server = await startServer({}, { clock });
    try {
      const [t1, t2, t3] = [
        await server.token('alice', 1),
        await server.token('alice', 2),
        await server.token('alice', 3),
      ];
      assert.deepEqual(await statusWith(server, t1), [200, 0], 'verified (and cached) before');
      const ws = await WsClient.open(notifyUrl(server, 'ws', { token: t1 }));
      const sse = await SseClient.open(notifyUrl(server, 'sse', { token: t2 }));
      const waiting = poll(server, { token: t3, timeout: 30 });
      await pollWaiting(server, 'alice', 3);

      const res = await server.post('/inner/revoke_session', { session: 'alice' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        code: 0,
        data: { Session: 'alice', RevokedBefore: Math.floor(clock.now() / 1000) },
      });

      for (const t of [t1, t2, t3]) assert.deepEqual(await statusWith(server, t), [401, 10101]);
      assert.equal(await ws.closed(), 4011);
      await sse.closed();
      const last = sse.events[sse.events.length - 1];
      assert.equal(last?.event, 'revoked');
      assert.deepEqual(JSON.parse(last?.data ?? ''), { code: 10101, error: 'token revoked' });
      const answered = await waiting;
      assert.equal(answered.status, 401);
      assert.equal(answered.body.code, 10101);

      // Issued in the revoked second: refused too ("issued at or before").
      assert.deepEqual(await statusWith(server, await server.token('alice', 1)), [401, 10101]);
      const refused = await fetch(notifyUrl(server, 'sse', { token: t2 }));
      assert.equal(refused.status, 401);
      clock.advance(1000);
      const fresh = await server.token('alice', 1);
      assert.deepEqual(await statusWith(server, fresh), [200, 0], 'issued after that second');
      const reopened = await WsClient.open(notifyUrl(server, 'ws', { token: fresh }));
      await reopened.close();
    } finally {
      await server.close(true);
    }
  });

  it('revokes one platform only when given, and says so', async () => {
    const server = await startServer();
    try {
      const [p1, p2] = [await server.token('bob', 1), await server.token('bob', 2)];
      const c = await server.createConversation(['bob']);
      const ws1 = await WsClient.open(notifyUrl(server, 'ws', { token: p1 }));
      const ws2 = await WsClient.open(notifyUrl(server, 'ws', { token: p2 }));
      const res = await server.post('/inner/revoke_session', { session: 'bob', platform: 2 });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body.data), ['Session', 'Platform', 'RevokedBefore']);
      assert.equal(res.body.data.Platform, 2);
      assert.equal(await ws2.closed(), 4011);
      assert.deepEqual(await statusWith(server, p2), [401, 10101]);
      assert.deepEqual(await statusWith(server, p1), [200, 0]);
      const sent = await server.post(
        '/send_msg',
        { conversation_id: c, status: 0, type: 1, content: 'still here' },
        p1,
      );
      assert.equal(sent.status, 200);
      await ws1.waitForIds([sent.body.data.MsgID as string]);
      assert.equal(ws1.isClosed, false);
      await ws1.close();
    } finally {
      await server.close(true);
    }
  });

  it('refuses bad input with 10001 and revokes nothing', async () => {
    const server = await startServer();
    try {
      const token = await server.token('carol', 1);
      const bad: unknown[] = [
        {},
        { session: '' },
        { session: 7 },
        { session: 'é'.repeat(65) },
        { session: 'carol', platform: 256 },
        { session: 'carol', platform: -1 },
        { session: 'carol', platform: '1' },
        { session: 'carol', platform: 1.5 },
        { platform: 1 },
      ];
      for (const body of bad) {
        const res = await server.post('/inner/revoke_session', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.code, 10001);
      }
      assert.deepEqual(await statusWith(server, token), [200, 0]);
      assert.deepEqual(await server.app.store.revocationsSince(0), []);
    } finally {
      await server.close(true);
    }
  });

  it('still refuses the revoked tokens after a restart', async () => {
    const first = await startServer();
    const token = await first.token('dave', 1);
    const res = await first.post('/inner/revoke_session', { session: 'dave' });
    assert.equal(res.status, 200);
    await first.close();
    const second = await startServer({ dataDir: first.dataDir });
    try {
      assert.deepEqual(await statusWith(second, token), [401, 10101]);
    } finally {
      await second.close(true);
    }
  });
});
