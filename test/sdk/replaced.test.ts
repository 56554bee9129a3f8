import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { QuickImClient, WebSocketConstructor } from '@quick-im/client';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import {
  ClientPool,
  Recorder,
  TEST_TIMEOUT_MS,
  TRANSPORTS,
  nextEvent,
  send,
} from './sdk-helpers.js';

/** Counts the push connections a client opens: `/notify` fetches and WebSockets. */
class AttemptCounter {
  count = 0;
  readonly fetch: typeof fetch = (input, init) => {
    if (String(input).includes('/notify')) this.count++;
    return fetch(input, init);
  };
  readonly WebSocket: WebSocketConstructor = makeCountingWebSocket(() => this.count++);
}

function makeCountingWebSocket(onCreate: () => void): WebSocketConstructor {
  return class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      onCreate();
    }
  };
}

describe("QuickImClient 'replaced'", () => {
  let server: TestServer;
  const pool = new ClientPool();
  let conversationId: string;
  let aliceToken: string;
  let platform = 1;

  before(async () => {
    server = await startServer();
    conversationId = await server.createConversation(['alice', 'bob']);
    aliceToken = await server.token('alice');
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  /**
   * Waits until the server holds a connection for (bob, p) that can take a message now. That
   * is server state no client event reports (a long-poll's next request may not have reached
   * the Hub yet), so this uses the polling fallback.
   */
  const serverHolds = (p: number): Promise<void> =>
    waitFor(
      () => (server.app.hub.find('bob', p)?.wire.capacity() ?? 0) > 0,
      5000,
      `bob/${p} attached and waiting`,
    );

  for (const transport of TRANSPORTS) {
    it(
      `reports 'replaced' over ${transport} and does not reconnect by itself`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const p = platform++;
        const counter = new AttemptCounter();
        const first = await pool.forSession(server, 'bob', p, {
          transport,
          fetch: counter.fetch,
          WebSocket: counter.WebSocket,
        });
        const firstRec = new Recorder(first);
        await first.connect();
        await serverHolds(p);

        const replaced = nextEvent(first, 'replaced');
        const second = await pool.forSession(server, 'bob', p, { transport });
        const secondRec = new Recorder(second);
        await second.connect();
        await replaced;
        assert.equal(first.state, 'replaced');
        assert.equal(first.transport, null);
        const last = firstRec.disconnected.at(-1);
        assert.equal(last?.reason, 'replaced');
        assert.equal(last?.willReconnect, false);
        assert.equal(last?.code, transport === 'ws' ? 4001 : 10009);
        const attempts = counter.count;
        const states = [...firstRec.states];

        // Had the first client reconnected, it would have taken (bob, p) back from the second.
        await send(server, aliceToken, conversationId, `after replace ${transport}`);
        await secondRec.message(`after replace ${transport}`);
        await serverHolds(p);
        assert.equal(second.state, 'connected');
        assert.equal(secondRec.replaced, 0);
        assert.equal(counter.count, attempts, 'no push connection attempt after replaced');
        assert.deepEqual(firstRec.states, states);
        assert.ok(!firstRec.contents().includes(`after replace ${transport}`));
        assert.equal(firstRec.replaced, 1);
      },
    );
  }

  it(
    'takes the session back when connect() is called after replaced',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const p = platform++;
      const first = await pool.forSession(server, 'bob', p);
      await first.connect();
      const second: QuickImClient = await pool.forSession(server, 'bob', p);
      const firstReplaced = nextEvent(first, 'replaced');
      await second.connect();
      await firstReplaced;

      const secondReplaced = nextEvent(second, 'replaced');
      await first.connect();
      await secondReplaced;
      assert.equal(first.state, 'connected');
      assert.equal(second.state, 'replaced');
    },
  );
});
