import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  PROTOCOLS,
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  openPush,
} from '../helpers/push-clients.js';
import { Fencer, assertDeliveredOnce, history, sendMsg } from '../helpers/push-fixtures.js';
import type { MsgData, Protocol, PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('push delivery', () => {
  let server: TestServer;
  let fencer: Fencer;
  const open = new Set<PushClient>();
  let seq = 0;

  /** A session name no other test uses. */
  const fresh = (name: string): string => `${name}-${++seq}`;

  async function connect(protocol: Protocol, session: string, platform: number) {
    const client = await openPush(server, protocol, await server.token(session, platform));
    open.add(client);
    return client;
  }

  /** One connection per protocol for `session`, on platforms 1 (ws), 2 (sse) and 3 (poll). */
  async function connectAll(session: string): Promise<PushClient[]> {
    await fencer.prepare(session);
    return Promise.all(PROTOCOLS.map((p, i) => connect(p, session, i + 1)));
  }

  const ids = (messages: readonly MsgData[]): string[] => messages.map((m) => m.MsgId);

  before(async () => {
    server = await startServer();
    fencer = new Fencer(server);
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(() => server.close(true));

  it('pushes each accepted message to every member connection on ws, sse and poll, the sender’s own included', async () => {
    const [alice, bob, carol] = [fresh('alice'), fresh('bob'), fresh('carol')];
    const conversationId = await server.createConversation([alice, bob, carol]);
    for (const session of [alice, bob, carol]) await fencer.prepare(session);
    const aliceWs = await connect('ws', alice, 1);
    const bobSse = await connect('sse', bob, 1);
    const carolPoll = await connect('poll', carol, 1);
    const aliceToken = await server.token(alice, 1);
    const bobToken = await server.token(bob, 9);
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(
        await sendMsg(server, i % 2 ? bobToken : aliceToken, conversationId, `m${i}`, i, -i),
      );
    }
    await fencer.pass(alice, [aliceWs]);
    await fencer.pass(bob, [bobSse]);
    await fencer.pass(carol, [carolPoll]);
    const stored = await history(server, aliceToken, conversationId);
    assert.deepEqual(ids(stored), sent);
    for (const client of [aliceWs, bobSse, carolPoll]) {
      assert.deepEqual(
        fencer.strip(client.messages),
        stored,
        `${client.protocol} got the stored MsgData`,
      );
    }
  });

  it('frames an SSE message as `id: <MsgId>`, `event: message` and `data: <MsgData JSON>`', async () => {
    const alice = fresh('alice');
    const conversationId = await server.createConversation([alice]);
    const token = await server.token(alice, 1);
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token }));
    open.add(sse);
    const id = await sendMsg(server, token, conversationId, 'line one\u2028"quoted" ✓');
    await sse.waitForEvents(1);
    const [stored] = await history(server, token, conversationId);
    assert.ok(stored);
    assert.deepEqual(sse.events[0]?.lines, [
      `id: ${id}`,
      'event: message',
      `data: ${JSON.stringify(stored)}`,
    ]);
    assert.deepEqual(sse.messages, [stored]);
  });

  it('sends each WebSocket message as one text frame of MsgData JSON', async () => {
    const alice = fresh('alice');
    const conversationId = await server.createConversation([alice]);
    const token = await server.token(alice, 1);
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token }));
    open.add(ws);
    const frames: string[] = [];
    ws.ws.on('message', (data, isBinary) => frames.push(`${isBinary}:${String(data)}`));
    await sendMsg(server, token, conversationId, 'hi');
    // The client's own listener runs first; its message resolves this after both have run.
    await ws.waitForMessages(1);
    const [stored] = await history(server, token, conversationId);
    assert.deepEqual(frames, [`false:${JSON.stringify(stored)}`]);
  });

  it('delivers concurrent sends per conversation in MsgId order, each once, on every protocol', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    const first = await server.createConversation([alice, bob]);
    const second = await server.createConversation([alice, bob]);
    const clients = await connectAll(bob);
    const senders = await Promise.all([1, 2, 3, 4].map((p) => server.token(alice, p)));
    const sent = (
      await Promise.all(
        senders.map(async (token, s) => {
          const mine: string[] = [];
          for (let i = 0; i < 15; i++) {
            mine.push(await sendMsg(server, token, i % 2 ? first : second, `s${s}-${i}`));
          }
          return mine;
        }),
      )
    ).flat();
    await fencer.pass(bob, clients);
    for (const c of clients) assertDeliveredOnce(fencer.strip(c.messages), sent, c.protocol);
  });

  for (const [how, path, inner] of [
    ['/leave_conversation', '/leave_conversation', false],
    ['/inner/kickout_conversation', '/inner/kickout_conversation', true],
  ] as const) {
    it(`stops pushing to a session as soon as ${how} is answered`, async () => {
      const [alice, bob] = [fresh('alice'), fresh('bob')];
      const conversationId = await server.createConversation([alice, bob]);
      const clients = await connectAll(bob);
      const aliceToken = await server.token(alice);
      const before = await sendMsg(server, aliceToken, conversationId, 'before');
      await fencer.pass(bob, clients);
      const res = inner
        ? await server.post(path, { conversation_id: conversationId, sessions: [bob] })
        : await server.post(path, { conversation_id: conversationId }, await server.token(bob));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await sendMsg(server, aliceToken, conversationId, 'after');
      await fencer.pass(bob, clients);
      for (const c of clients)
        assert.deepEqual(ids(fencer.strip(c.messages)), [before], c.protocol);
    });
  }

  for (const [how, path, inner] of [
    ['/join_conversation', '/join_conversation', false],
    ['/inner/join_conversation', '/inner/join_conversation', true],
  ] as const) {
    it(`pushes to a session that joined through ${how} without reconnecting`, async () => {
      const [alice, bob] = [fresh('alice'), fresh('bob')];
      const conversationId = await server.createConversation([alice]);
      const clients = await connectAll(bob);
      const aliceToken = await server.token(alice);
      await sendMsg(server, aliceToken, conversationId, 'before');
      const res = inner
        ? await server.post(path, { conversation_id: conversationId, sessions: [bob] })
        : await server.post(path, { conversation_id: conversationId }, await server.token(bob));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const joined = await sendMsg(server, aliceToken, conversationId, 'after');
      await fencer.pass(bob, clients);
      for (const c of clients)
        assert.deepEqual(ids(fencer.strip(c.messages)), [joined], c.protocol);
    });
  }

  it('pushes again to a kicked session once an inner join readmits it', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    const conversationId = await server.createConversation([alice, bob]);
    const clients = await connectAll(bob);
    const aliceToken = await server.token(alice);
    const kick = { conversation_id: conversationId, sessions: [bob] };
    assert.equal((await server.post('/inner/kickout_conversation', kick)).status, 200);
    await sendMsg(server, aliceToken, conversationId, 'while kicked');
    assert.equal((await server.post('/inner/join_conversation', kick)).status, 200);
    const back = await sendMsg(server, aliceToken, conversationId, 'back');
    await fencer.pass(bob, clients);
    for (const c of clients) assert.deepEqual(ids(fencer.strip(c.messages)), [back], c.protocol);
  });

  it('never pushes a conversation’s messages to connected non-members', async () => {
    const [alice, bob, eve] = [fresh('alice'), fresh('bob'), fresh('eve')];
    const conversationId = await server.createConversation([alice, bob]);
    const eves = await connectAll(eve);
    const bobs = await connectAll(bob);
    const aliceToken = await server.token(alice);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++)
      sent.push(await sendMsg(server, aliceToken, conversationId, `m${i}`));
    await fencer.pass(bob, bobs);
    await fencer.pass(eve, eves);
    for (const c of eves) assert.deepEqual(fencer.strip(c.messages), [], c.protocol);
    for (const c of bobs) assert.deepEqual(ids(fencer.strip(c.messages)), sent, c.protocol);
  });

  it('pushes everything to each platform of one session', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    const conversationId = await server.createConversation([alice, bob]);
    const platforms: Array<[Protocol, number]> = [
      ['ws', 0],
      ['sse', 1],
      ['poll', 2],
      ['ws', 200],
      ['sse', 255],
    ];
    await fencer.prepare(alice);
    const clients = await Promise.all(platforms.map(([p, n]) => connect(p, alice, n)));
    const bobToken = await server.token(bob);
    const sent: string[] = [];
    for (let i = 0; i < 8; i++) sent.push(await sendMsg(server, bobToken, conversationId, `m${i}`));
    await fencer.pass(alice, clients);
    for (const [i, c] of clients.entries()) {
      assert.deepEqual(ids(fencer.strip(c.messages)), sent, `platform ${platforms[i]?.[1]}`);
    }
  });
});
