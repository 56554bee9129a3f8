import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, QuickImError } from '@quick-im/client';
import type { WebSocketEventLike } from '@quick-im/client';
import { HIGHEST_MSG_ID, MSG_ID } from '../helpers/http.js';
import { startNoUpgradeProxy } from '../helpers/no-upgrade-proxy.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import {
  ClientPool,
  Recorder,
  TEST_TIMEOUT_MS,
  TRANSPORTS,
  assertOnceInOrder,
  nextEvent,
  send,
} from './sdk-helpers.js';

/** A WebSocket whose handshake never completes: no event ever fires. */
class SilentWebSocket {
  static closed = 0;
  constructor(readonly url: string) {}
  addEventListener(_type: string, _listener: (event: WebSocketEventLike) => void): void {}
  close(): void {
    SilentWebSocket.closed++;
  }
}

describe('QuickImClient push', () => {
  let server: TestServer;
  const pool = new ClientPool();
  let conversationId: string;
  let aliceToken: string;
  let platform = 10;

  before(async () => {
    server = await startServer();
    conversationId = await server.createConversation(['alice', 'bob']);
    aliceToken = await server.token('alice');
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  for (const transport of TRANSPORTS) {
    it(`receives live messages over ${transport}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const bob = await pool.forSession(server, 'bob', platform++, { transport });
      const rec = new Recorder(bob);
      assert.equal(bob.state, 'idle');
      const connected = nextEvent(bob, 'connected');
      await bob.connect();
      assert.deepEqual(await connected, { transport });
      assert.equal(bob.state, 'connected');
      assert.equal(bob.transport, transport);
      assert.deepEqual(rec.states, ['connecting', 'connected']);

      const ids: string[] = [];
      for (const content of ['a', 'b', 'c']) {
        ids.push(await send(server, aliceToken, conversationId, `${transport}-${content}`));
      }
      await rec.messageCount(3);
      assert.deepEqual(rec.contents(), [`${transport}-a`, `${transport}-b`, `${transport}-c`]);
      assert.deepEqual(
        rec.messages.map((m) => m.MsgId),
        ids,
      );
      const first = rec.messages[0];
      assert.equal(first?.ConversationID, conversationId);
      assert.equal(first?.FromSession, 'alice');
      assert.equal(first?.Type, 1);
      assert.match(first?.MsgId ?? '', MSG_ID);
      assert.equal(bob.lastMsgId, ids[2]);

      const disconnected = nextEvent(bob, 'disconnected');
      bob.close();
      assert.deepEqual(await disconnected, { transport, reason: 'closed', willReconnect: false });
      assert.equal(bob.state, 'closed');
      assert.equal(bob.transport, null);
    });

    it(
      `resumes after the lastMsgId option over ${transport}`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const before = [];
        for (const n of [1, 2, 3]) {
          before.push(await send(server, aliceToken, conversationId, `${transport}-old-${n}`));
        }
        const bob = await pool.forSession(server, 'bob', platform++, {
          transport,
          lastMsgId: before[0],
        });
        const rec = new Recorder(bob);
        await bob.connect();
        await rec.message(`${transport}-old-3`);
        await send(server, aliceToken, conversationId, `${transport}-new`);
        await rec.message(`${transport}-new`);
        assert.deepEqual(rec.contents(), [
          `${transport}-old-2`,
          `${transport}-old-3`,
          `${transport}-new`,
        ]);
        assertOnceInOrder(rec.messages);
      },
    );
  }

  it(
    "'auto' connects over ws when WebSocket upgrades work",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bob = await pool.forSession(server, 'bob', platform++);
      const connected = nextEvent(bob, 'connected');
      await bob.connect();
      assert.deepEqual(await connected, { transport: 'ws' });
    },
  );

  it(
    "'auto' falls back to sse when WebSocket upgrades are refused",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const proxy = await startNoUpgradeProxy(server.url);
      try {
        const bob = pool.create(proxy.url, { token: await server.token('bob', platform++) });
        const rec = new Recorder(bob);
        const connected = nextEvent(bob, 'connected');
        await bob.connect();
        assert.deepEqual(await connected, { transport: 'sse' });
        assert.equal(bob.transport, 'sse');
        assert.ok(proxy.refusedUpgrades >= 1, 'ws was tried first');
        await send(server, aliceToken, conversationId, 'through the proxy');
        await rec.message('through the proxy');
        assert.deepEqual(rec.connected, ['sse']);
        bob.close();
      } finally {
        await proxy.close();
      }
    },
  );

  it(
    "'auto' falls back to sse when ws does not open within connectTimeoutMs",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const closedBefore = SilentWebSocket.closed;
      const bob = await pool.forSession(server, 'bob', platform++, {
        WebSocket: SilentWebSocket,
        connectTimeoutMs: 200,
      });
      const connected = nextEvent(bob, 'connected');
      await bob.connect();
      assert.deepEqual(await connected, { transport: 'sse' });
      assert.equal(SilentWebSocket.closed, closedBefore + 1, 'the stalled WebSocket was closed');
    },
  );

  it(
    "'auto' starts at sse when no WebSocket is available",
    {
      timeout: TEST_TIMEOUT_MS,
      skip: 'WebSocket' in globalThis ? 'this Node has a global WebSocket' : false,
    },
    async () => {
      const bob = await pool.forSession(server, 'bob', platform++, { WebSocket: undefined });
      const connected = nextEvent(bob, 'connected');
      await bob.connect();
      assert.deepEqual(await connected, { transport: 'sse' });
    },
  );

  it(
    'delivers messages whose ids compare lower than the lastMsgId option',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bob = await pool.forSession(server, 'bob', platform++, {
        transport: 'sse',
        lastMsgId: HIGHEST_MSG_ID,
      });
      const rec = new Recorder(bob);
      await bob.connect();
      const id = await send(server, aliceToken, conversationId, 'lower id');
      assert.ok(id < HIGHEST_MSG_ID);
      await rec.message('lower id');
      assert.equal(bob.lastMsgId, HIGHEST_MSG_ID, 'lastMsgId only grows');
    },
  );

  it(
    'connect() rejects with 10001 for a malformed lastMsgId, and push closes',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bob = await pool.forSession(server, 'bob', platform++, { lastMsgId: 'nope' });
      const rec = new Recorder(bob);
      await assert.rejects(bob.connect(), (err: unknown) => {
        assert.ok(err instanceof QuickImError);
        assert.equal(err.code, ErrorCode.InvalidParameter);
        assert.equal(err.status, 400);
        return true;
      });
      assert.equal(bob.state, 'closed');
      assert.equal(rec.disconnected.at(-1)?.willReconnect, false);
    },
  );
});
