import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, QuickImError } from '@quick-im/client';
import type { Transport } from '@quick-im/client';
import { ManualClock } from '../helpers/manual-clock.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import {
  ClientPool,
  Recorder,
  TEST_TIMEOUT_MS,
  TRANSPORTS,
  nextEvent,
  send,
} from './sdk-helpers.js';

const MODES: readonly (Transport | 'auto')[] = ['auto', ...TRANSPORTS];

describe('QuickImClient tokens', () => {
  let server: TestServer;
  const pool = new ClientPool();
  let conversationId: string;
  let platform = 1;

  before(async () => {
    server = await startServer();
    conversationId = await server.createConversation(['alice', 'bob']);
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  for (const transport of MODES) {
    it(
      `calls getToken when the initial token is rejected, then works (${transport})`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const p = platform++;
        let calls = 0;
        const bob = pool.create(server, {
          transport,
          token: 'forged',
          getToken: async () => {
            calls++;
            return server.token('bob', p);
          },
        });
        const rec = new Recorder(bob);
        await bob.connect();
        assert.equal(calls, 1);
        assert.equal(bob.transport, transport === 'auto' ? 'ws' : transport);
        await send(server, await server.token('alice'), conversationId, `hello ${transport}`);
        await rec.message(`hello ${transport}`);
        assert.equal(calls, 1);
      },
    );

    it(
      `closes push with 10101 when the token is rejected and there is no getToken (${transport})`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const bob = pool.create(server, { transport, token: 'forged' });
        const rec = new Recorder(bob);
        await assert.rejects(bob.connect(), (err: unknown) => {
          assert.ok(err instanceof QuickImError);
          assert.equal(err.code, ErrorCode.Unauthorized);
          assert.equal(err.status, 401);
          return true;
        });
        assert.equal(bob.state, 'closed');
        const last = rec.disconnected.at(-1);
        assert.equal(last?.reason, 'token-rejected');
        assert.equal(last?.willReconnect, false);
        assert.deepEqual(rec.connected, []);
      },
    );
  }

  it(
    'asks getToken for the first token when none is given',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      let calls = 0;
      const bob = pool.create(server, {
        getToken: async () => {
          calls++;
          return server.token('bob', platform++);
        },
      });
      await bob.connect();
      assert.equal(calls, 1);
      assert.ok((await bob.getJoinedConversations()).includes(conversationId));
      assert.equal(calls, 1);
    },
  );

  it(
    'retries a failing getToken with backoff until it gives a token',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      let calls = 0;
      const p = platform++;
      const bob = pool.create(server, {
        getToken: async () => {
          calls++;
          if (calls < 3) throw new Error('auth backend down');
          return server.token('bob', p);
        },
      });
      await bob.connect();
      assert.equal(calls, 3);
    },
  );
});

describe('QuickImClient token expiry', () => {
  let server: TestServer;
  const pool = new ClientPool();
  // The server's clock: the test moves it past the tokens' expiry instead of waiting for it.
  const clock = new ManualClock();

  before(async () => {
    // Tokens live 2 s: the server ends each push connection when its token expires.
    server = await startServer({ tokenTtlSec: 2 }, { clock });
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  it(
    'renews an expired token on every transport (ws 4010, sse expired, poll 401)',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const conversationId = await server.createConversation(['alice', 'bob']);
      const clients = await Promise.all(
        TRANSPORTS.map(async (transport, i) => {
          let calls = 0;
          const client = pool.create(server, {
            transport,
            token: await server.token('bob', 50 + i),
            getToken: async () => {
              calls++;
              return server.token('bob', 50 + i);
            },
          });
          await client.connect();
          const ended = nextEvent(client, 'disconnected');
          const reconnected = nextEvent(client, 'connected');
          return { transport, client, ended, reconnected, calls: () => calls };
        }),
      );
      clock.advance(2000);
      server.app.hub.tick();
      for (const { transport, client, ended, reconnected, calls } of clients) {
        const first = await ended;
        assert.equal(first.reason, 'token-rejected', `${transport}: ${JSON.stringify(first)}`);
        assert.equal(first.willReconnect, true);
        assert.equal(first.transport, transport);
        assert.equal(first.code, transport === 'ws' ? 4010 : ErrorCode.Unauthorized);
        assert.equal((await reconnected).transport, transport);
        assert.ok(calls() >= 1, `${transport}: getToken was called`);
        assert.equal(client.state, 'connected', transport);
      }
      const recorders = clients.map(({ transport, client }) => ({
        transport,
        rec: new Recorder(client),
      }));
      await send(server, await server.token('alice'), conversationId, 'after renewal');
      for (const { transport, rec } of recorders) {
        await rec.message('after renewal').catch((err: unknown) => {
          throw new Error(`${transport}: ${String(err)}`);
        });
      }
    },
  );
});
