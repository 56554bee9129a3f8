import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseReason } from '../../src/realtime/close-reasons.js';
import { freePort } from '../helpers/processes.js';
import { startServer, tempDataDir } from '../helpers/server.js';
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

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('QuickImClient resume', () => {
  const pool = new ClientPool();
  after(() => pool.closeAll());

  for (const transport of TRANSPORTS) {
    it(
      `resumes ${transport} after the server restarts: each message once, in order`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const port = await freePort();
        const dataDir = tempDataDir();
        let server = await startServer({ port, dataDir });
        try {
          const conversationId = await server.createConversation(['alice', 'bob']);
          const aliceToken = await server.token('alice');
          const bob = await pool.forSession(server, 'bob', 1, { transport });
          const rec = new Recorder(bob);
          const say = (n: number): Promise<string> =>
            send(server, aliceToken, conversationId, `m${n}`);
          await bob.connect();
          for (const n of range(1, 3)) await say(n);
          await rec.messageCount(3);

          const lost = nextEvent(bob, 'disconnected');
          await server.close();
          const disconnected = await lost;
          assert.equal(disconnected.transport, transport);
          assert.equal(disconnected.willReconnect, true);
          assert.ok(
            ['shutdown', 'unavailable', 'network'].includes(disconnected.reason),
            disconnected.reason,
          );

          // Missed for certain: written by a node on another port while bob's port is closed.
          const side = await startServer({ dataDir });
          for (const n of range(4, 6)) await send(side, aliceToken, conversationId, `m${n}`);
          await side.close();
          assert.notEqual(bob.state, 'connected');

          const reconnected = nextEvent(bob, 'connected', 15_000);
          server = await startServer({ port, dataDir });
          // Before or while bob reconnects.
          for (const n of range(7, 9)) await say(n);
          assert.deepEqual(await reconnected, { transport });
          await say(10);
          await rec.messageCount(10);
          assert.deepEqual(
            rec.contents(),
            range(1, 10).map((n) => `m${n}`),
          );
          assertOnceInOrder(rec.messages);
          assert.ok(rec.states.includes('reconnecting'), rec.states.join(','));
        } finally {
          await server.close(true);
        }
      },
    );
  }
});

describe('QuickImClient resume while messages flow', () => {
  let server: TestServer;
  const pool = new ClientPool();
  let platform = 1;

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  for (const transport of TRANSPORTS) {
    it(
      `delivers each message once over ${transport} when replay and live overlap`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conversationId = await server.createConversation(['alice', 'bob']);
        const aliceToken = await server.token('alice');
        const bobPlatform = platform++;
        const bob = await pool.forSession(server, 'bob', bobPlatform, { transport });
        const rec = new Recorder(bob);
        await bob.connect();

        const total = 90;
        const sending = (async () => {
          for (const n of range(1, total)) {
            await send(server, aliceToken, conversationId, `m${n}`);
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        // Cut the connection server-side three times while messages keep coming: each reconnect
        // replays what the gap missed while live messages queue behind the replay.
        for (const cut of [1, 2, 3]) {
          await rec.until(
            () => bob.state === 'connected' && rec.messages.length >= cut * 20,
            10_000,
            () => `cut ${cut}: connected with ${cut * 20} messages (${rec.messages.length})`,
          );
          const conn = server.app.hub.find('bob', bobPlatform);
          if (conn !== undefined) server.app.hub.close(conn, CloseReason.Slow);
        }
        await sending;
        await rec.messageCount(total, 15_000);
        assert.deepEqual(
          rec.contents(),
          range(1, total).map((n) => `m${n}`),
        );
        assertOnceInOrder(rec.messages);
        if (transport !== 'poll') {
          // A poll between two requests has nothing to answer: it just continues on the next one.
          assert.ok(rec.disconnected.length >= 1, 'the connection was cut at least once');
        }
      },
    );
  }
});
