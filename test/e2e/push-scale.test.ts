import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WsClient, notifyUrl, untilClients } from '../helpers/push-clients.js';
import { sendMsg, tokenMinter } from '../helpers/push-fixtures.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { mapLimit } from '../helpers/wait.js';

const CONVERSATIONS = 100;
const MEMBERS = 10;
const MESSAGES_PER_CONVERSATION = 2;

describe('push at scale', () => {
  let server: TestServer;
  const clients: WsClient[] = [];

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await mapLimit(clients, 100, (c) => c.terminate());
    await server.close(true);
  });

  it('delivers every message to each of 1,000 WebSocket clients in 100 conversations, none lost or repeated', async () => {
    const started = Date.now();
    const mint = tokenMinter(server);
    const rooms = await mapLimit(
      Array.from({ length: CONVERSATIONS }, (_, c) => c),
      10,
      async (c) => {
        const members = Array.from({ length: MEMBERS }, (_, m) => `room${c}-member${m}`);
        return { members, conversationId: await server.createConversation(members) };
      },
    );
    const members = rooms.flatMap((r) => r.members.map((session) => ({ session, room: r })));
    const connected = await mapLimit(members, 50, async ({ session }) =>
      WsClient.open(notifyUrl(server, 'ws', { token: await mint(session) })),
    );
    clients.push(...connected);
    assert.equal(server.app.hub.size, CONVERSATIONS * MEMBERS);

    const sentByRoom = new Map<string, string[]>();
    await mapLimit(rooms, 8, async ({ conversationId, members: [first, second] }) => {
      const sent: string[] = [];
      for (const [i, from] of [first, second].slice(0, MESSAGES_PER_CONVERSATION).entries()) {
        sent.push(await sendMsg(server, await mint(from as string), conversationId, `m${i}`));
      }
      sentByRoom.set(conversationId, sent);
    });

    const expected = CONVERSATIONS * MEMBERS * MESSAGES_PER_CONVERSATION;
    const received = (): number => connected.reduce((n, c) => n + c.messages.length, 0);
    await untilClients(
      connected,
      () => received() >= expected,
      20_000,
      () => `${expected} deliveries, got ${received()}`,
    );
    // Anything extra (a duplicate or a stray) would have been written before a last round trip.
    await mapLimit(connected, 100, (c) => c.roundTrip());
    for (const [i, client] of connected.entries()) {
      const { session, room } = members[i] as (typeof members)[number];
      assert.deepEqual(
        client.messages.map((m) => m.MsgId),
        sentByRoom.get(room.conversationId),
        `${session} got its conversation's messages once each, in order`,
      );
    }
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});
