import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseClient, WsClient, notifyUrl, poll, wsRefusal } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { expectNothingFor } from '../helpers/wait.js';

// EXTENSIONS.md "Events on the push stream (opt-in)", through a real server.

const WAIT_MS = 5000;

describe('push events (events=1)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close(true));

  const ws = async (session: string, platform: number, events: boolean): Promise<WsClient> =>
    WsClient.open(
      notifyUrl(server, 'ws', {
        token: await server.token(session, platform),
        events: events ? 1 : undefined,
      }),
    );

  const send = async (session: string, conversationId: string, content: string) => {
    const res = await server.post(
      '/send_msg',
      { conversation_id: conversationId, status: 0, type: 1, content },
      await server.token(session),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data.MsgID as string;
  };

  it('reach only events=1 connections; a plain connection of the same member gets only messages', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const withEvents = await ws('alice', 1, true);
    const plain = await ws('alice', 2, false);
    try {
      const join = await server.post('/inner/join_conversation', {
        conversation_id: c,
        sessions: ['carol', 'alice'],
      });
      assert.equal(join.status, 200);
      await withEvents.until(() => withEvents.events.length >= 1, WAIT_MS, 'the joined event');
      assert.deepEqual(withEvents.events[0], {
        Event: 'joined',
        ConversationID: c,
        Sessions: ['carol'],
      });
      assert.deepEqual(
        Object.keys(withEvents.events[0] as object),
        ['Event', 'ConversationID', 'Sessions'],
        'keys in the contract order',
      );
      const id = await send('bob', c, 'after the join');
      await plain.waitForIds([id]);
      await withEvents.waitForIds([id]);
      assert.deepEqual(plain.events, [], 'no event on a plain connection');
      assert.deepEqual(
        plain.messages.map((m) => m.MsgId),
        [id],
      );
    } finally {
      await Promise.all([withEvents.close(), plain.close()]);
    }
  });

  it('sends joined to the new members too, and nothing when a join changes nobody', async () => {
    const c = await server.createConversation(['alice']);
    const dave = await ws('dave', 1, true);
    const alice = await ws('alice', 3, true);
    try {
      const res = await server.post(
        '/join_conversation',
        { conversation_id: c },
        await server.token('dave'),
      );
      assert.equal(res.status, 200);
      const joined = { Event: 'joined', ConversationID: c, Sessions: ['dave'] };
      await dave.until(() => dave.events.length >= 1, WAIT_MS, 'joined at the joiner');
      await alice.until(() => alice.events.length >= 1, WAIT_MS, 'joined at the member');
      assert.deepEqual(dave.events, [joined]);
      assert.deepEqual(alice.events, [joined]);
      // Joining again changes nothing: no second event (a message sent after it is the marker).
      await server.post('/join_conversation', { conversation_id: c }, await server.token('dave'));
      const id = await send('alice', c, 'marker');
      await dave.waitForIds([id]);
      assert.equal(dave.events.length, 1);
    } finally {
      await Promise.all([dave.close(), alice.close()]);
    }
  });

  it('sends left to the remaining members and to those who left or were kicked', async () => {
    const c = await server.createConversation(['alice', 'erin', 'frank']);
    const alice = await ws('alice', 4, true);
    const erin = await ws('erin', 1, true);
    const frank = await ws('frank', 1, true);
    try {
      const left = await server.post(
        '/leave_conversation',
        { conversation_id: c },
        await server.token('erin'),
      );
      assert.equal(left.status, 200);
      const leftEvent = { Event: 'left', ConversationID: c, Sessions: ['erin'], Kicked: false };
      await erin.until(() => erin.events.length >= 1, WAIT_MS, 'left at the leaver');
      await alice.until(() => alice.events.length >= 1, WAIT_MS, 'left at a member');
      assert.deepEqual(erin.events, [leftEvent]);
      assert.deepEqual(alice.events, [leftEvent]);

      const kick = await server.post('/inner/kickout_conversation', {
        conversation_id: c,
        sessions: ['frank', 'erin'],
      });
      assert.equal(kick.status, 200);
      const kicked = { Event: 'left', ConversationID: c, Sessions: ['frank'], Kicked: true };
      await frank.until(() => frank.events.length >= 2, WAIT_MS, 'kicked at the kicked');
      await alice.until(() => alice.events.length >= 2, WAIT_MS, 'kicked at a member');
      assert.deepEqual(frank.events, [leftEvent, kicked]);
      assert.deepEqual(alice.events[1], kicked);
      assert.equal(erin.events.length, 1, 'no longer a member: not told of the kick');
    } finally {
      await Promise.all([alice.close(), erin.close(), frank.close()]);
    }
  });

  it('routes a read event to every member connection with events=1, the reader included', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const id = await send('alice', c, 'to be read');
    const alice = await ws('alice', 5, true);
    const bob = await ws('bob', 5, true);
    try {
      // /mark_read publishes this (its own part); the Hub's routing is what is tested here.
      await server.app.bus.publish({
        type: 'read',
        conversationId: c,
        session: 'bob',
        readMsgId: id,
      });
      const read = { Event: 'read', ConversationID: c, Session: 'bob', ReadMsgId: id };
      await alice.until(() => alice.events.length >= 1, WAIT_MS, 'read at the sender');
      await bob.until(() => bob.events.length >= 1, WAIT_MS, 'read at the reader');
      assert.deepEqual(alice.events, [read]);
      assert.deepEqual(bob.events, [read]);
      assert.deepEqual(Object.keys(read), Object.keys(alice.events[0] as object));
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('frames an event on SSE as event: and data: with no id:, and leaves a plain stream as the seed', async () => {
    const c = await server.createConversation(['gina']);
    const token = await server.token('gina', 1);
    const events = await SseClient.open(notifyUrl(server, 'sse', { token, events: 1 }));
    const plain = await SseClient.open(
      notifyUrl(server, 'sse', { token: await server.token('gina', 2) }),
    );
    try {
      await server.post('/inner/join_conversation', { conversation_id: c, sessions: ['hal'] });
      const id = await send('gina', c, 'hello');
      await events.waitForIds([id]);
      await plain.waitForIds([id]);
      const joined = JSON.stringify({ Event: 'joined', ConversationID: c, Sessions: ['hal'] });
      assert.deepEqual(events.events[0]?.lines, ['event: joined', `data: ${joined}`]);
      assert.equal(events.events[1]?.id, id);
      for (const e of plain.events) {
        assert.equal(e.event, 'message');
        assert.equal(e.id, JSON.parse(e.data ?? '{}').MsgId);
      }
      assert.equal(plain.events.length, 1);
    } finally {
      await Promise.all([events.close(), plain.close()]);
    }
  });

  it('never replays an event on resume', async () => {
    const c = await server.createConversation(['ivan']);
    const first = await send('ivan', c, 'one');
    await server.post('/inner/join_conversation', { conversation_id: c, sessions: ['judy'] });
    const second = await send('ivan', c, 'two');
    const resumed = await WsClient.open(
      notifyUrl(server, 'ws', {
        token: await server.token('ivan', 1),
        events: 1,
        last_msg_id: first,
      }),
    );
    try {
      await resumed.waitForIds([second]);
      await expectNothingFor(100, 'an event that must not be replayed');
      assert.deepEqual(resumed.events, []);
    } finally {
      await resumed.close();
    }
  });

  it('refuses events=1 on poll, and any other value of events, with 10001', async () => {
    const token = await server.token('kim');
    const onPoll = await poll(server, { token, events: 1, timeout: 0 });
    assert.equal(onPoll.status, 400);
    assert.equal(onPoll.body.code, 10001);
    for (const value of ['0', 'true', '']) {
      const sse = await fetch(notifyUrl(server, 'sse', { token, events: value }));
      assert.equal(sse.status, 400, `events=${value}`);
      assert.equal(((await sse.json()) as { code: number }).code, 10001);
      const refused = await wsRefusal(notifyUrl(server, 'ws', { token, events: value }));
      assert.equal(refused.status, 400, `ws events=${value}`);
      assert.equal(refused.body.code, 10001);
    }
  });
});
