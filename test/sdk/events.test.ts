import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PushEvent, Transport } from '@quick-im/client';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ClientPool, Recorder, TEST_TIMEOUT_MS, send } from './sdk-helpers.js';

const EVENT_TRANSPORTS: readonly Transport[] = ['ws', 'sse'];

describe('QuickImClient push events', () => {
  let server: TestServer;
  const pool = new ClientPool();
  let tokens: Record<'alice' | 'bob', string>;
  let platform = 10;

  before(async () => {
    server = await startServer();
    tokens = { alice: await server.token('alice', 90), bob: await server.token('bob', 90) };
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  /** POSTs as `token`'s session and asserts success. */
  async function ok(path: string, body: object, token?: string): Promise<void> {
    const res = await server.post(path, body, token);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  }

  for (const transport of EVENT_TRANSPORTS) {
    it(
      `emits typed read, joined and left events over ${transport}, in order with the messages`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const alice = await pool.forSession(server, 'alice', platform++, {
          transport,
          events: true,
        });
        const rec = new Recorder(alice);
        await alice.connect();

        const id = await server.createConversation(['alice', 'bob']);
        const joined = await rec.event((e) => e.ConversationID === id, 'joined at create');
        assert.deepEqual(
          { ...joined, Sessions: sorted(joined) },
          {
            Event: 'joined',
            ConversationID: id,
            Sessions: ['alice', 'bob'],
          },
        );

        const m1 = await send(server, tokens.alice, id, `${transport} one`);
        await ok('/mark_read', { conversation_id: id, msg_id: m1 }, tokens.bob);
        await ok('/inner/join_conversation', { conversation_id: id, sessions: ['carol'] });
        await ok('/leave_conversation', { conversation_id: id }, tokens.bob);
        await ok('/inner/kickout_conversation', { conversation_id: id, sessions: ['carol'] });
        await send(server, tokens.alice, id, `${transport} two`);
        await rec.message(`${transport} two`);

        const ofThis = rec.events.filter((e) => e.ConversationID === id);
        assert.deepEqual(ofThis, [
          joined,
          { Event: 'read', ConversationID: id, Session: 'bob', ReadMsgId: m1 },
          { Event: 'joined', ConversationID: id, Sessions: ['carol'] },
          { Event: 'left', ConversationID: id, Sessions: ['bob'], Kicked: false },
          { Event: 'left', ConversationID: id, Sessions: ['carol'], Kicked: true },
        ]);
        assert.deepEqual(
          rec.contents().filter((c) => c.startsWith(transport)),
          [`${transport} one`, `${transport} two`],
          'messages arrive as before, events beside them',
        );
        assert.equal(rec.disconnected.length, 0, 'no event ended the connection');
      },
    );
  }

  it(
    "emits the caller's own read and its own leave, and nothing to a client that did not ask",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await server.createConversation(['alice', 'bob']);
      const withEvents = await pool.forSession(server, 'bob', platform++, { events: true });
      const plain = await pool.forSession(server, 'bob', platform++);
      const [rec, plainRec] = [new Recorder(withEvents), new Recorder(plain)];
      await Promise.all([withEvents.connect(), plain.connect()]);

      const m1 = await send(server, tokens.alice, id, 'to be read');
      // Through another client of bob's: its other platforms hear of the read.
      const reader = await pool.forSession(server, 'bob', platform++);
      assert.equal(await reader.markRead(id, m1), m1);
      await rec.event((e) => e.Event === 'read' && e.ConversationID === id, "bob's own read");
      await reader.leaveConversation(id);
      const left = await rec.event((e) => e.Event === 'left' && e.ConversationID === id, 'left');
      assert.deepEqual(left, {
        Event: 'left',
        ConversationID: id,
        Sessions: ['bob'],
        Kicked: false,
      });

      // A message after the events: once the plain client has it, it would have had them.
      const other = await server.createConversation(['alice', 'bob']);
      await send(server, tokens.alice, other, 'marker');
      await plainRec.message('marker');
      assert.deepEqual(plainRec.events, []);
      assert.deepEqual(plainRec.contents(), ['to be read', 'marker']);
    },
  );
});

function sorted(event: PushEvent): string[] {
  return 'Sessions' in event ? [...event.Sessions].sort() : [];
}
