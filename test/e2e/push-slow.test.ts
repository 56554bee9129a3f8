import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  openPush,
  poll,
} from '../helpers/push-clients.js';
import { sendMsg } from '../helpers/push-fixtures.js';
import type { MsgData, PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const QUEUE_MAX_MESSAGES = 20;
const QUEUE_MAX_BYTES = 256 * 1024;
/** Large enough that a few dozen fill the kernel's socket buffers quickly. */
const CONTENT = 'x'.repeat(60_000);
/** Bounds the sender: a paused loopback socket absorbs a few MB, far less than this many. */
const MAX_SENDS = 1000;

const ids = (messages: readonly MsgData[]): string[] => messages.map((m) => m.MsgId);

describe('slow consumers', () => {
  let server: TestServer;
  let senderToken: string;
  const open = new Set<PushClient>();
  let seq = 0;

  before(async () => {
    server = await startServer({
      queueMaxMessages: QUEUE_MAX_MESSAGES,
      queueMaxBytes: QUEUE_MAX_BYTES,
    });
    senderToken = await server.token('sender');
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(() => server.close(true));

  /** Sends large messages until the Hub no longer holds (session, platform); returns their ids. */
  async function sendUntilDropped(
    conversationId: string,
    session: string,
    platform: number,
  ): Promise<string[]> {
    const sent: string[] = [];
    while (server.app.hub.find(session, platform) !== undefined) {
      assert.ok(sent.length < MAX_SENDS, `still connected after ${MAX_SENDS} messages`);
      sent.push(await sendMsg(server, senderToken, conversationId, CONTENT));
    }
    return sent;
  }

  /** Readers on every protocol for `session`, platforms 1 (ws), 2 (sse) and 3 (poll). */
  async function readers(session: string): Promise<PushClient[]> {
    const clients = await Promise.all(
      (['ws', 'sse', 'poll'] as const).map(async (p, i) =>
        openPush(server, p, await server.token(session, i + 1)),
      ),
    );
    for (const c of clients) open.add(c);
    return clients;
  }

  it('closes a WebSocket client that stops reading with 4008 while the others in the conversation receive everything', async () => {
    const [slowSession, reader] = [`slow-${++seq}`, `reader-${seq}`];
    const conversationId = await server.createConversation([slowSession, reader, 'sender']);
    const fast = await readers(reader);
    const slow = await WsClient.open(
      notifyUrl(server, 'ws', { token: await server.token(slowSession, 1) }),
    );
    open.add(slow);
    slow.pause();

    const sent = await sendUntilDropped(conversationId, slowSession, 1);
    await Promise.all(fast.map((c) => c.waitForMessages(sent.length, 20_000)));
    for (const c of fast) assert.deepEqual(ids(c.messages), sent, `${c.protocol} reader`);

    slow.resume();
    assert.equal(await slow.closed(10_000), 4008);
    const got = ids(slow.messages);
    assert.ok(got.length < sent.length, 'the slow client fell behind');
    assert.deepEqual(got, sent.slice(0, got.length), 'what it got is an in-order prefix');
  });

  it('lets a WebSocket client closed as slow resume with last_msg_id and get the rest', async () => {
    const session = `slow-resume-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const slow = await WsClient.open(notifyUrl(server, 'ws', { token }));
    open.add(slow);
    slow.pause();
    const sent = await sendUntilDropped(conversationId, session, 1);
    slow.resume();
    assert.equal(await slow.closed(10_000), 4008);
    const resumed = await WsClient.open(
      notifyUrl(server, 'ws', { token, last_msg_id: slow.messages.at(-1)?.MsgId }),
    );
    open.add(resumed);
    await resumed.until(
      () => slow.messages.length + resumed.messages.length >= sent.length,
      20_000,
      'the rest after resuming',
    );
    assert.deepEqual([...ids(slow.messages), ...ids(resumed.messages)], sent);
  });

  it('ends the SSE stream of a client that stops reading while the others receive everything', async () => {
    const [slowSession, reader] = [`slow-sse-${++seq}`, `reader-${seq}`];
    const conversationId = await server.createConversation([slowSession, reader, 'sender']);
    const fast = await readers(reader);
    const slow = await SseClient.open(
      notifyUrl(server, 'sse', { token: await server.token(slowSession, 1) }),
    );
    open.add(slow);
    slow.pause();

    const sent = await sendUntilDropped(conversationId, slowSession, 1);
    await Promise.all(fast.map((c) => c.waitForMessages(sent.length, 20_000)));
    for (const c of fast) assert.deepEqual(ids(c.messages), sent, `${c.protocol} reader`);

    slow.resume();
    await slow.closed(10_000);
    const last = slow.events.at(-1);
    if (last !== undefined && last.event !== 'message') {
      assert.equal(last.event, 'slow', `the stream ends with event: slow, not ${last.event}`);
    }
    const got = ids(slow.messages);
    assert.ok(got.length < sent.length, 'the slow client fell behind');
    assert.deepEqual(got, sent.slice(0, got.length), 'what it got is an in-order prefix');
  });

  for (const protocol of ['ws', 'sse'] as const) {
    it(`does not close a ${protocol} client that reads promptly as slow because its resume replay exceeds the queue bounds`, async () => {
      const session = `big-replay-${protocol}-${++seq}`;
      const conversationId = await server.createConversation([session, 'sender']);
      const token = await server.token(session, 1);
      const [from] = [await sendMsg(server, senderToken, conversationId, 'seen')];
      // More than a loopback socket absorbs at once, so most of the replay waits in the Hub.
      const missed: string[] = [];
      for (let i = 0; i < 150; i++) {
        missed.push(await sendMsg(server, senderToken, conversationId, CONTENT));
      }
      const client = await openPush(server, protocol, token, { last_msg_id: from });
      open.add(client);
      const live: string[] = [];
      for (let i = 0; i < 3; i++)
        live.push(await sendMsg(server, senderToken, conversationId, `live${i}`));
      const all = [...missed, ...live];
      const isClosed = (): boolean =>
        client instanceof WsClient ? client.isClosed : (client as SseClient).ended;
      await client.until(
        () => client.messages.length >= all.length || isClosed(),
        20_000,
        () => `${all.length} messages, got ${client.messages.length}`,
      );
      assert.equal(isClosed(), false, 'still open');
      assert.deepEqual(ids(client.messages), all);
    });
  }

  it('still closes a resuming WebSocket client that stops reading once live messages queue behind its replay', async () => {
    const session = `big-replay-stuck-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const from = await sendMsg(server, senderToken, conversationId, 'seen');
    for (let i = 0; i < 150; i++) await sendMsg(server, senderToken, conversationId, CONTENT);
    const client = await WsClient.open(notifyUrl(server, 'ws', { token, last_msg_id: from }));
    open.add(client);
    client.pause();
    await sendUntilDropped(conversationId, session, 1);
    client.resume();
    assert.equal(await client.closed(10_000), 4008);
  });

  it('refills a long-poll place that fell more than the queue bound behind, losing nothing', async () => {
    const session = `slow-poll-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    const sent: string[] = [];
    for (let i = 0; i < QUEUE_MAX_MESSAGES * 3 + 5; i++) {
      sent.push(await sendMsg(server, senderToken, conversationId, `m${i}`));
    }
    const got: string[] = [];
    for (let i = 0; i < 20 && got.length < sent.length; i++) {
      const res = await poll(server, { token, timeout: 0, batch: 7 });
      assert.equal(res.status, 200, `poll ${i}`);
      got.push(...ids(res.body));
    }
    assert.deepEqual(got, sent);
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
  });
});
