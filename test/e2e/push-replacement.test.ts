import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  PROTOCOLS,
  PollClient,
  SseClient,
  WsClient,
  closeAll,
  openPush,
  untilClients,
} from '../helpers/push-clients.js';
import { pollWaits, sendMsg } from '../helpers/push-fixtures.js';
import type { Protocol, PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const PLATFORM = 4;

describe('push connection replacement', () => {
  let server: TestServer;
  let senderToken: string;
  const open = new Set<PushClient>();
  let seq = 0;

  before(async () => {
    server = await startServer();
    senderToken = await server.token('sender');
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(() => server.close(true));

  async function connect(protocol: Protocol, session: string): Promise<PushClient> {
    const client = await openPush(server, protocol, await server.token(session, PLATFORM));
    open.add(client);
    return client;
  }

  /** Resolves once a long-poll request of (session, PLATFORM) waits on the server. */
  async function pollOutstanding(session: string): Promise<void> {
    await pollWaits(server, session, PLATFORM, `an outstanding poll of ${session}`);
  }

  /** Whether the server has not (yet) told `client` it was replaced or closed. */
  function isLive(client: PushClient): boolean {
    if (client instanceof WsClient) return !client.isClosed;
    if (client instanceof SseClient) return !client.ended;
    return !(client as PollClient).stopped;
  }

  /** Asserts `client` was told it was replaced, in its protocol's form. */
  async function assertReplaced(client: PushClient): Promise<void> {
    if (client instanceof WsClient) {
      assert.equal(await client.closed(), 4001, 'old WebSocket close code');
      assert.notEqual(client.closeReason, '');
    } else if (client instanceof SseClient) {
      await client.closed();
      const last = client.events.at(-1);
      assert.equal(last?.event, 'kickout', JSON.stringify(client.events));
      const data: unknown = JSON.parse(last.data ?? '');
      assert.deepEqual(Object.keys(data as object).sort(), ['code', 'error']);
      assert.equal((data as { code: number }).code, 10009);
    } else {
      const poll = client as PollClient;
      await poll.until(() => poll.failures.length > 0, 5000, 'the old poll to be answered');
      const [answer] = poll.failures;
      assert.equal(answer?.status, 409, JSON.stringify(answer));
      assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'error']);
      assert.equal(answer.body.code, 10009);
    }
  }

  for (const older of PROTOCOLS) {
    for (const newer of PROTOCOLS) {
      it(`replaces an open ${older} connection with a new ${newer} one for the same session and platform`, async () => {
        const session = `user-${older}-${newer}-${++seq}`;
        const conversationId = await server.createConversation([session, 'sender']);
        const old = await connect(older, session);
        const before = await sendMsg(server, senderToken, conversationId, 'before');
        await old.until(() => old.messages.length === 1, 5000, 'the old connection to be live');
        if (older === 'poll') await pollOutstanding(session);

        const replacement = await connect(newer, session);
        await assertReplaced(old);
        const afterId = await sendMsg(server, senderToken, conversationId, 'after');
        await replacement.waitForIds([afterId], 5000, 'the new connection to receive');
        assert.deepEqual(
          old.messages.map((m) => m.MsgId),
          [before],
          'the old connection got nothing after it was replaced',
        );
        assert.equal(server.app.hub.find(session, PLATFORM)?.wire.protocol, newer);
      });
    }
  }

  for (const [i, first] of PROTOCOLS.entries()) {
    for (const second of PROTOCOLS.slice(i)) {
      it(`keeps exactly one of two ${first} and ${second} connections opened at once for the same session and platform`, async () => {
        for (let round = 0; round < 4; round++) {
          const session = `race-${first}-${second}-${++seq}`;
          const conversationId = await server.createConversation([session, 'sender']);
          const token = await server.token(session, PLATFORM);
          const pair = await Promise.all([
            openPush(server, first, token),
            openPush(server, second, token),
          ]);
          for (const c of pair) open.add(c);
          await untilClients(
            pair,
            () => pair.filter(isLive).length <= 1,
            5000,
            () => `one of the two to be replaced (round ${round})`,
          );
          const survivors = pair.filter(isLive);
          assert.equal(survivors.length, 1, `round ${round}: exactly one survives`);
          const [survivor] = survivors as [PushClient];
          const loser = pair.find((c) => c !== survivor) as PushClient;
          await assertReplaced(loser);
          const id = await sendMsg(server, senderToken, conversationId, 'who gets it');
          await survivor.waitForIds(
            [id],
            5000,
            `the surviving ${survivor.protocol} connection to receive (round ${round})`,
          );
          assert.ok(isLive(survivor), 'the survivor stays open');
          assert.equal(server.app.hub.find(session, PLATFORM)?.wire.protocol, survivor.protocol);
          await closeAll(pair);
        }
      });
    }
  }
});
