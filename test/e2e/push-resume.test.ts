import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  PROTOCOLS,
  PollClient,
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  openPush,
  poll,
} from '../helpers/push-clients.js';
import { sendMsg } from '../helpers/push-fixtures.js';
import type { MsgData, NotifyParams, Protocol, PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { Changes, mapLimit } from '../helpers/wait.js';

const ids = (messages: readonly MsgData[]): string[] => messages.map((m) => m.MsgId);

describe('push resume', () => {
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

  async function connect(
    protocol: Protocol,
    token: string,
    params: NotifyParams = {},
  ): Promise<PushClient> {
    const client = await openPush(server, protocol, token, params);
    open.add(client);
    return client;
  }

  async function sendMany(conversationId: string, n: number, label: string): Promise<string[]> {
    const sent: string[] = [];
    for (let i = 0; i < n; i++)
      sent.push(await sendMsg(server, senderToken, conversationId, `${label}${i}`));
    return sent;
  }

  /** Sends `n` messages with `parallel` concurrent senders; resolves with their ids in MsgId order. */
  async function sendParallel(
    conversationId: string,
    n: number,
    parallel: number,
  ): Promise<string[]> {
    const indexes = Array.from({ length: n }, (_, i) => i);
    const sent = await mapLimit(indexes, parallel, (i) =>
      sendMsg(server, senderToken, conversationId, `p${i}`),
    );
    return sent.sort();
  }

  for (const protocol of PROTOCOLS) {
    it(`replays what a ${protocol} client missed after last_msg_id, in order, then goes live`, async () => {
      const session = `resume-${protocol}-${++seq}`;
      const first = await server.createConversation([session, 'sender']);
      const second = await server.createConversation([session, 'sender']);
      const token = await server.token(session, 1);
      const client = await connect(protocol, token);
      const seen = await sendMany(first, 3, 'seen');
      await client.until(() => client.messages.length === 3, 5000, 'the first three messages');
      await client.close();

      const missed: string[] = [];
      for (let i = 0; i < 4; i++) {
        missed.push(await sendMsg(server, senderToken, i % 2 ? first : second, `missed${i}`));
      }
      const resumed = await connect(protocol, token, { last_msg_id: seen.at(-1) });
      await resumed.waitForMessages(missed.length);
      const live = await sendMsg(server, senderToken, first, 'live');
      await resumed.waitForMessages(missed.length + 1);
      assert.deepEqual(ids(resumed.messages), [...missed, live]);
    });
  }

  it('replays from the Last-Event-ID header of a reconnecting SSE client', async () => {
    const session = `last-event-id-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token }));
    open.add(sse);
    await sendMany(conversationId, 2, 'seen');
    await sse.until(() => sse.events.length === 2, 5000, 'two events');
    await sse.close();
    const missed = await sendMany(conversationId, 3, 'missed');
    const lastEventId = sse.events.at(-1)?.id;
    assert.ok(lastEventId);
    const resumed = await SseClient.open(notifyUrl(server, 'sse', { token }), {
      'last-event-id': lastEventId,
    });
    open.add(resumed);
    await resumed.waitForMessages(3);
    const live = await sendMsg(server, senderToken, conversationId, 'live');
    await resumed.waitForMessages(4);
    assert.deepEqual(ids(resumed.messages), [...missed, live]);
    assert.deepEqual(
      resumed.events.map((e) => e.id),
      [...missed, live],
    );
  });

  it('replays from last_msg_id on a long-poll of a platform with no place yet', async () => {
    const session = `poll-new-place-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const sent = await sendMany(conversationId, 6, 'm');
    const token = await server.token(session, 2);
    const one = await poll(server, { token, timeout: 0, last_msg_id: sent[1] });
    assert.equal(one.status, 200);
    assert.equal(one.body.MsgId, sent[2], 'without batch: the oldest missed message');
    const rest = await poll(server, { token, timeout: 0, batch: 10 });
    assert.deepEqual(ids(rest.body), sent.slice(3));
  });

  it('replays from an older last_msg_id even while the long-poll place exists', async () => {
    const session = `poll-rewind-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const sent = await sendMany(conversationId, 5, 'm');
    const all = await poll(server, { token, timeout: 0, batch: 10, last_msg_id: sent[0] });
    assert.deepEqual(ids(all.body), sent.slice(1));
    const again = await poll(server, { token, timeout: 0, batch: 10, last_msg_id: sent[2] });
    assert.deepEqual(ids(again.body), sent.slice(3), 'the client lost the last answer');
  });

  for (const protocol of PROTOCOLS) {
    it(`delivers all 500 messages once each, in order, to a ${protocol} client that reconnects with last_msg_id while they are sent`, async () => {
      const session = `big-${protocol}-${++seq}`;
      const conversationId = await server.createConversation([session, 'sender']);
      const token = await server.token(session, 1);
      const total = 500;
      const received: MsgData[] = [];
      let client = await connect(protocol, token);
      const sent: string[] = [];
      let sending = true;
      // Wakes the wait below on each message of the current client and when sending ends.
      const progress = new Changes();
      const sender = (async () => {
        for (let i = 0; i < total; i++)
          sent.push(await sendMsg(server, senderToken, conversationId, `big${i}`));
        sending = false;
        progress.notify();
      })();
      let reconnectsWhileSending = 0;
      for (let cycle = 1; cycle <= 4; cycle++) {
        const stop = client.onEvent(() => progress.notify());
        await progress
          .until(
            () => received.length + client.messages.length >= cycle * 90 || !sending,
            20_000,
            `message ${cycle * 90}`,
          )
          .finally(stop);
        if (cycle % 2 === 1 && client instanceof WsClient) await client.terminate();
        else await client.close();
        open.delete(client);
        received.push(...client.messages);
        if (sending) reconnectsWhileSending++;
        client = await connect(protocol, token, { last_msg_id: received.at(-1)?.MsgId });
      }
      await sender;
      await client.until(
        () => received.length + client.messages.length >= total,
        20_000,
        () => `all ${total} messages, got ${received.length + client.messages.length}`,
      );
      received.push(...client.messages);
      assert.ok(
        reconnectsWhileSending >= 2,
        `reconnected ${reconnectsWhileSending} times while sending`,
      );
      assert.equal(received.length, total, 'no message twice');
      assert.deepEqual(ids(received), sent);
    });
  }

  it('replays only the newest 1,000 when more than 1,000 were missed', async () => {
    const session = `overflow-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const [before] = await sendMany(conversationId, 1, 'before');
    const missed = await sendParallel(conversationId, 1050, 8);
    const ws = (await connect('ws', token, { last_msg_id: before })) as WsClient;
    await ws.waitForMessages(1000, 10_000);
    const live = await sendMsg(server, senderToken, conversationId, 'live');
    await ws.waitForMessages(1001);
    assert.deepEqual(ids(ws.messages), [...missed.slice(-1000), live]);

    const polled = await poll(server, {
      token: await server.token(session, 2),
      timeout: 0,
      batch: 100,
      last_msg_id: before,
    });
    const newest = [...missed, live].slice(-1000);
    assert.deepEqual(ids(polled.body), newest.slice(0, 100), 'a poll replays the newest 1,000 too');
  });

  for (const [keyFrom, jwtKey] of [
    ['the generated key file', undefined],
    ['the same --jwt-key', 'a configured signing key'],
  ] as const) {
    it(`resumes from last_msg_id after the server restarts on the same data directory with ${keyFrom}`, async () => {
      const first = await startServer({ jwtKey });
      let second: TestServer | undefined;
      const clients: PushClient[] = [];
      try {
        const token = await first.token('reader', 1);
        const sender = await first.token('writer', 1);
        const conversationId = await first.createConversation(['reader', 'writer']);
        const ws = await WsClient.open(notifyUrl(first, 'ws', { token }));
        clients.push(ws);
        const seen = await sendMsg(first, sender, conversationId, 'seen');
        await ws.until(() => ws.messages.length === 1, 5000, 'the first message');
        await ws.close();
        const missedBefore = await sendMsg(first, sender, conversationId, 'missed before restart');
        await first.close();

        second = await startServer({ dataDir: first.dataDir, jwtKey });
        const missedAfter = await sendMsg(second, sender, conversationId, 'missed after restart');
        const resumed = await WsClient.open(notifyUrl(second, 'ws', { token, last_msg_id: seen }));
        clients.push(resumed);
        await resumed.waitForMessages(2);
        const live = await sendMsg(second, sender, conversationId, 'live');
        await resumed.waitForMessages(3);
        assert.deepEqual(ids(resumed.messages), [missedBefore, missedAfter, live]);
      } finally {
        await closeAll(clients);
        await first.close(second === undefined);
        await second?.close(true);
      }
    });
  }

  it('keeps a poll client’s place when it resumes with the last id it was answered', async () => {
    const session = `poll-place-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    const token = await server.token(session, 1);
    const client = (await connect('poll', token)) as PollClient;
    const seen = await sendMany(conversationId, 2, 'seen');
    await client.until(() => client.messages.length === 2, 5000, 'two messages');
    await client.close();
    const missed = await sendMany(conversationId, 2, 'missed');
    const next = await poll(server, { token, timeout: 0, batch: 10, last_msg_id: seen.at(-1) });
    assert.deepEqual(ids(next.body), missed);
  });
});
