import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FakeWire, closeFixtures, fixture } from '../../test/helpers/hub-fixture.js';
import { UnavailableError } from '../domain/errors.js';
import { serializeMessage } from '../domain/message.js';
import type { Message } from '../domain/message.js';
import { CloseReason } from './close-reasons.js';
import { GAP_WAIT_MS } from './room.js';

afterEach(closeFixtures);

describe('Hub', () => {
  it('delivers a message to every connection of every member, and to no one else', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const [alice1, alice2, bob, carol] = [
      new FakeWire(),
      new FakeWire(),
      new FakeWire(),
      new FakeWire(),
    ];
    await f.attach('alice', alice1, null, 1);
    await f.attach('alice', alice2, null, 2);
    await f.attach('bob', bob);
    await f.attach('carol', carol);
    const m = await f.send(c, 'bob');
    for (const w of [alice1, alice2, bob]) assert.deepEqual(w.ids, [m.MsgId]);
    assert.deepEqual(carol.ids, []);
    assert.equal(f.hub.size, 4);
  });

  it('delivers a conversation in MsgId order, each message once, one frame for all', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const [alice, bob] = [new FakeWire(), new FakeWire()];
    await f.attach('alice', alice);
    await f.attach('bob', bob);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await f.send(c, 'alice', `m${i}`)).MsgId);
    assert.deepEqual(alice.ids, sent);
    assert.deepEqual(bob.ids, sent);
    assert.equal(alice.written[0], bob.written[0], 'the same Frame object');
  });

  it('replaces a connection with a newer one for the same session and platform', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, []);
    const [older, newer] = [new FakeWire(), new FakeWire()];
    await f.attach('alice', older);
    await f.attach('alice', newer);
    assert.equal(older.closedWith, CloseReason.Replaced);
    assert.equal(f.hub.find('alice', 1)?.wire, newer);
    const m = await f.send(c, 'alice');
    assert.deepEqual(older.ids, []);
    assert.deepEqual(newer.ids, [m.MsgId]);
  });

  it('closes its connection when another node announces a newer one, not an older one', async () => {
    const f = fixture();
    const wire = new FakeWire();
    await f.attach('alice', wire);
    const connected = { type: 'connected', session: 'alice', platform: 1, nodeId: 'n2' } as const;
    await f.bus.publish({ ...connected, generation: '0' });
    assert.equal(wire.closedWith, null);
    await f.bus.publish({ ...connected, generation: 'zzzzzzzzzz' });
    assert.equal(wire.closedWith, CloseReason.Replaced);
    assert.equal(f.hub.find('alice', 1), undefined);
  });

  it('closes a connection whose queue is full', async () => {
    const f = fixture({ queueMaxMessages: 3 });
    const c = await f.conversations.create('alice', 0, []);
    const wire = new FakeWire('close', 0);
    await f.attach('alice', wire);
    for (let i = 0; i < 3; i++) await f.send(c, 'alice');
    assert.equal(wire.closedWith, null, 'three fit');
    await f.send(c, 'alice');
    assert.equal(wire.closedWith, CloseReason.Slow);
    assert.equal(f.hub.find('alice', 1), undefined);
  });

  it('keeps a refill wire open across an overflow; a new place from its position loses nothing', async () => {
    const f = fixture({ queueMaxMessages: 3 });
    const c = await f.conversations.create('alice', 0, []);
    const first = await f.send(c, 'alice', 'answered');
    const wire = new FakeWire('refill', 0);
    await f.attach('alice', wire, first.MsgId);
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) sent.push((await f.send(c, 'alice', `m${i}`)).MsgId);
    const conn = f.hub.find('alice', 1);
    assert.equal(wire.closedWith, null);
    assert.ok(conn !== undefined && conn.hasOverflowed, 'the queue was dropped');
    wire.room = Infinity;
    f.hub.drained(conn);
    assert.deepEqual(wire.ids, [], 'nothing queued once dropped');
    f.hub.detach(conn);
    const refilled = new FakeWire('refill');
    await f.attach('alice', refilled, first.MsgId);
    assert.deepEqual(refilled.ids, sent);
  });

  it('merges the resume replay with live messages, in order and without duplicates', async () => {
    let duringReplay = async (): Promise<void> => {};
    const f = fixture({
      hubStore: (store) => ({
        joinedConversations: (s) => store.joinedConversations(s),
        lastMsgId: (c) => store.lastMsgId(c),
        messagesAfter: (...args) => store.messagesAfter(...args),
        rangeFromStart: (...args) => store.rangeFromStart(...args),
        async missedMessageRefs(session, afterId, limit) {
          const missed = await store.missedMessageRefs(session, afterId, limit);
          await duringReplay();
          return missed;
        },
      }),
    });
    const c = await f.conversations.create('alice', 0, ['bob']);
    const m1 = await f.send(c, 'bob', 'seen');
    const m2 = await f.send(c, 'bob');
    const m3 = await f.send(c, 'bob');
    let m4: Message | undefined;
    duringReplay = async () => {
      // m3 was stored before the replay read but is announced (again) after it; m4 is new.
      await f.bus.publish({
        type: 'message',
        conversationId: c,
        msgId: m3.MsgId,
        prevMsgId: m2.MsgId,
        frame: serializeMessage(m3),
      });
      m4 = await f.send(c, 'bob');
    };
    const wire = new FakeWire();
    await f.attach('alice', wire, m1.MsgId);
    const m5 = await f.send(c, 'bob');
    assert.deepEqual(wire.ids, [m2.MsgId, m3.MsgId, m4?.MsgId, m5.MsgId]);
  });

  it('skips a replayed message whose announcement arrives after the replay went out', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const m1 = await f.send(c, 'bob', 'seen');
    const m2 = await f.send(c, 'bob');
    const wire = new FakeWire();
    await f.attach('alice', wire, m1.MsgId);
    await f.bus.publish({
      type: 'message',
      conversationId: c,
      msgId: m2.MsgId,
      prevMsgId: m1.MsgId,
      frame: serializeMessage(m2),
    });
    const m3 = await f.send(c, 'bob');
    assert.deepEqual(wire.ids, [m2.MsgId, m3.MsgId]);
  });

  it('follows membership: joins start delivery, kicks stop it, including while loading', async () => {
    let gate: Promise<void> = Promise.resolve();
    const f = fixture({
      hubStore: (store) => ({
        async joinedConversations(s) {
          const ids = await store.joinedConversations(s);
          await gate;
          return ids;
        },
        lastMsgId: (c) => store.lastMsgId(c),
        messagesAfter: (...args) => store.messagesAfter(...args),
        missedMessageRefs: (...args) => store.missedMessageRefs(...args),
        rangeFromStart: (...args) => store.rangeFromStart(...args),
      }),
    });
    const c1 = await f.conversations.create('alice', 0, ['bob']);
    let release = (): void => {};
    gate = new Promise((resolve) => (release = resolve));
    const wire = new FakeWire();
    const attached = f.attach('alice', wire);
    // Created while alice's memberships are still loading: applied once they are.
    const c2 = await f.conversations.create('bob', 0, ['alice']);
    release();
    await attached;
    const inC2 = await f.send(c2, 'bob');
    await f.conversations.kick(c1, ['alice']);
    await f.send(c1, 'bob');
    const c3 = await f.conversations.create('bob', 0, ['alice']);
    const inC3 = await f.send(c3, 'bob');
    assert.deepEqual(wire.ids, [inC2.MsgId, inC3.MsgId]);
  });

  it('closes every connection and refuses new ones while suspended, until resumed', async () => {
    const f = fixture();
    const wire = new FakeWire();
    await f.attach('alice', wire);
    f.hub.suspend();
    assert.equal(wire.closedWith, CloseReason.Unavailable);
    assert.equal(f.hub.size, 0);
    await assert.rejects(f.attach('alice', new FakeWire()), UnavailableError);
    f.hub.resume();
    await f.attach('alice', new FakeWire());
    assert.equal(f.hub.size, 1);
  });

  it('closes a connection when its token expires on the clock, and one whose wire is gone', async () => {
    const f = fixture();
    const [expiring, dead] = [new FakeWire(), new FakeWire()];
    await f.hub.attach(expiring, {
      session: 'alice',
      platform: 1,
      lastMsgId: null,
      expiresAtMs: f.clock.now() + 1000,
      issuedAtSec: Math.floor(f.clock.now() / 1000),
      events: false,
    });
    await f.attach('bob', dead);
    f.clock.advance(999);
    f.hub.tick();
    assert.equal(expiring.closedWith, null);
    dead.alive = false;
    f.clock.advance(1);
    f.hub.tick();
    assert.equal(expiring.closedWith, CloseReason.Expired);
    assert.equal(dead.closedWith, CloseReason.HeartbeatTimeout);
    assert.equal(f.hub.size, 0);
  });

  it('fills from the store a message whose announcement was lost before the first one a room sees', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const wire = new FakeWire();
    await f.attach('alice', wire);
    f.bus.drop(1);
    const lost = await f.send(c, 'bob', 'its announcement is lost');
    const next = await f.send(c, 'bob', 'announced');
    assert.deepEqual(wire.ids, [], 'waits for the one before it');
    const filled = wire.wrote(2);
    f.clock.advance(GAP_WAIT_MS);
    await filled;
    assert.deepEqual(wire.ids, [lost.MsgId, next.MsgId]);
  });

  it('stops delivering to a kicked session here, closing its connections, when the bus cannot announce the kick', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const [bob1, bob2, alice] = [new FakeWire(), new FakeWire(), new FakeWire()];
    await f.attach('bob', bob1, null, 1);
    await f.attach('bob', bob2, null, 2);
    await f.attach('alice', alice);
    f.bus.reject(1);
    await assert.rejects(f.conversations.kick(c, ['bob']), UnavailableError);
    assert.equal(bob1.closedWith, CloseReason.Unavailable);
    assert.equal(bob2.closedWith, CloseReason.Unavailable);
    assert.equal(alice.closedWith, null, 'other members stay');
    const after = await f.send(c, 'alice', 'after the kick');
    assert.deepEqual(alice.ids, [after.MsgId]);
    assert.deepEqual([...bob1.ids, ...bob2.ids], []);
    // Reconnecting reads the memberships from the store, where the kick is.
    const again = new FakeWire();
    await f.attach('bob', again);
    await f.send(c, 'alice', 'still kicked');
    assert.deepEqual(again.ids, []);
  });

  it('follows a leave here when the bus cannot announce it', async () => {
    const f = fixture();
    const c = await f.conversations.create('alice', 0, ['bob']);
    const bob = new FakeWire();
    await f.attach('bob', bob);
    f.bus.reject(1);
    await assert.rejects(f.conversations.leave(c, 'bob'), UnavailableError);
    assert.equal(bob.closedWith, CloseReason.Unavailable);
    assert.equal(f.hub.size, 0);
  });
});
