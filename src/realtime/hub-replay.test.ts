import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FakeWire, closeFixtures, fixture } from '../../test/helpers/hub-fixture.js';
import type { Fixture } from '../../test/helpers/hub-fixture.js';
import { UnavailableError } from '../domain/errors.js';
import { serializeMessage } from '../domain/message.js';
import type { Message } from '../domain/message.js';
import { CloseReason } from './close-reasons.js';
import type { Connection } from './connection.js';
import { PAGE_MAX_MESSAGES } from './replay-cursor.js';

afterEach(closeFixtures);

/** A conversation of alice and bob in which bob sent `count` messages after one alice saw. */
async function missed(f: Fixture, count: number) {
  const c = await f.conversations.create('alice', 0, ['bob']);
  const seen = await f.send(c, 'bob', 'seen');
  const sent: Message[] = [];
  for (let i = 0; i < count; i++) sent.push(await f.send(c, 'bob', `m${i}`));
  return { c, seen, sent, ids: sent.map((m) => m.MsgId) };
}

function held(f: Fixture, session = 'alice'): Connection {
  const conn = f.hub.find(session, 1);
  assert.ok(conn);
  return conn;
}

describe('Hub resume replay', () => {
  it('reads a long replay a page at a time as the wire drains, holding one page at most', async () => {
    const reads: number[] = [];
    let wire = new FakeWire('close', 0);
    let mostHeld = 0;
    const f = fixture({
      hubStore: (store) => ({
        joinedConversations: (s) => store.joinedConversations(s),
        lastMsgId: (c) => store.lastMsgId(c),
        messagesAfter: (...args) => store.messagesAfter(...args),
        missedMessageRefs: (...args) => store.missedMessageRefs(...args),
        async rangeFromStart(...args) {
          const page = await store.rangeFromStart(...args);
          reads.push(page.length);
          const read = reads.reduce((a, b) => a + b, 0);
          mostHeld = Math.max(mostHeld, read - wire.written.length);
          return page;
        },
      }),
    });
    const { seen, ids } = await missed(f, 250);
    wire = new FakeWire('close', 0);
    await f.attach('alice', wire, seen.MsgId);
    assert.deepEqual(reads, [10], 'only the first page before the wire takes anything');
    const conn = held(f);
    for (let i = 0; i < 100 && wire.written.length < ids.length; i++) {
      wire.room = 7;
      f.hub.drained(conn);
      await f.hub.settled(conn);
    }
    assert.deepEqual(wire.ids, ids);
    assert.ok(mostHeld <= PAGE_MAX_MESSAGES, `held ${mostHeld} messages read but not written`);
    assert.ok(
      reads.every((n) => n <= PAGE_MAX_MESSAGES),
      `pages ${reads.join(', ')}`,
    );
  });

  it('sends live messages behind a paged replay, each once; the replay does not count against the queue bound', async () => {
    const f = fixture({ queueMaxMessages: 5 });
    const { c, seen, sent, ids } = await missed(f, 150);
    const wire = new FakeWire('close', 0);
    await f.attach('alice', wire, seen.MsgId);
    // A replayed message announced (again) after the replay was planned is not sent twice.
    const again = sent[149] as Message;
    await f.bus.publish({
      type: 'message',
      conversationId: c,
      msgId: again.MsgId,
      prevMsgId: sent[148]?.MsgId ?? null,
      frame: serializeMessage(again),
    });
    const live: string[] = [];
    for (let i = 0; i < 5; i++) live.push((await f.send(c, 'bob', `live${i}`)).MsgId);
    assert.equal(wire.closedWith, null, 'five live messages fit behind 150 replayed');
    wire.room = Infinity;
    const conn = held(f);
    f.hub.drained(conn);
    await f.hub.settled(conn);
    assert.deepEqual(wire.ids, [...ids, ...live]);
    const next = await f.send(c, 'bob', 'after');
    assert.equal(wire.ids.at(-1), next.MsgId, 'live once the replay is out');
  });

  it('closes a resuming connection once live messages behind its replay overflow the queue', async () => {
    const f = fixture({ queueMaxMessages: 3 });
    const { c, seen } = await missed(f, 150);
    const wire = new FakeWire('close', 0);
    await f.attach('alice', wire, seen.MsgId);
    for (let i = 0; i < 3; i++) await f.send(c, 'bob');
    assert.equal(wire.closedWith, null);
    await f.send(c, 'bob');
    assert.equal(wire.closedWith, CloseReason.Slow);
  });

  it('closes the connection when a page of its replay cannot be read', async () => {
    let failing = false;
    const f = fixture({
      hubStore: (store) => ({
        joinedConversations: (s) => store.joinedConversations(s),
        lastMsgId: (c) => store.lastMsgId(c),
        messagesAfter: (...args) => store.messagesAfter(...args),
        missedMessageRefs: (...args) => store.missedMessageRefs(...args),
        rangeFromStart: (...args) =>
          failing ? Promise.reject(new UnavailableError()) : store.rangeFromStart(...args),
      }),
    });
    const { seen, ids } = await missed(f, 30);
    const wire = new FakeWire('close', 0);
    await f.attach('alice', wire, seen.MsgId);
    failing = true;
    const conn = held(f);
    wire.room = 10;
    f.hub.drained(conn);
    assert.deepEqual(wire.ids, ids.slice(0, 10), 'the first page, read at attach, goes out');
    wire.room = 1;
    f.hub.drained(conn);
    await f.hub.settled(conn);
    assert.equal(wire.ids.length, 10);
    assert.equal(wire.closedWith, CloseReason.Unavailable, 'the client resumes from there');
    assert.equal(f.hub.find('alice', 1), undefined);
  });
});

describe('Hub limits', () => {
  it('counts the queue bound in UTF-8 bytes, not UTF-16 units', async () => {
    // Each frame is about 3,200 UTF-8 bytes (1,100 UTF-16 units): two fit in 8,000, not three.
    const f = fixture({ queueMaxBytes: 8000 });
    const c = await f.conversations.create('alice', 0, ['bob']);
    const wire = new FakeWire('close', 0);
    await f.attach('alice', wire);
    const content = '€'.repeat(1000);
    await f.send(c, 'bob', content);
    await f.send(c, 'bob', content);
    assert.equal(wire.closedWith, null);
    await f.send(c, 'bob', content);
    assert.equal(wire.closedWith, CloseReason.Slow);
  });

  it('refuses a connection beyond maxConnections, but not one that replaces its own', async () => {
    const f = fixture({ maxConnections: 2 });
    await f.attach('alice', new FakeWire());
    await f.attach('bob', new FakeWire());
    await assert.rejects(f.attach('carol', new FakeWire()), UnavailableError);
    await assert.rejects(f.attach('alice', new FakeWire(), null, 2), UnavailableError);
    const newer = new FakeWire();
    await f.attach('alice', newer);
    assert.equal(f.hub.find('alice', 1)?.wire, newer);
    assert.equal(f.hub.size, 2);
    f.hub.detach(held(f, 'bob'));
    await f.attach('carol', new FakeWire());
    assert.equal(f.hub.size, 2);
  });
});
