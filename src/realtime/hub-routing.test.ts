import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeWire } from '../../test/helpers/hub-fixture.js';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { natsUnavailable, startNats } from '../../test/helpers/nats.js';
import type { NatsServer } from '../../test/helpers/nats.js';
import { skipReason } from '../../test/helpers/processes.js';
import { Changes } from '../../test/helpers/wait.js';
import type { Bus, BusEvent, BusHandler } from '../bus/bus.js';
import { NatsBus } from '../bus/nats-bus.js';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { ConversationService } from '../services/conversation-service.js';
import { MessageService } from '../services/message-service.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { CloseReason } from './close-reasons.js';
import { Hub } from './hub.js';

/** A NatsBus whose follows, while held, wait until the test lets them through: a slow subscription. */
class GatedBus implements Bus {
  /** Conversations asked for, in order. */
  readonly asked: string[] = [];
  readonly changes = new Changes();
  private open = true;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly inner: NatsBus) {}

  /** Holds every later follow until `release`. */
  hold(): void {
    this.open = false;
  }

  /** Lets every held follow, and every later one, through. */
  release(): void {
    this.open = true;
    for (const go of this.waiting.splice(0)) go();
  }

  async follow(conversationId: string): Promise<void> {
    this.asked.push(conversationId);
    this.changes.notify();
    if (!this.open) await new Promise<void>((r) => this.waiting.push(r));
    await this.inner.follow(conversationId);
  }

  unfollow(conversationId: string): void {
    this.inner.unfollow(conversationId);
  }

  publish(event: BusEvent): Promise<void> {
    return this.inner.publish(event);
  }

  subscribe(handler: BusHandler): () => void {
    return this.inner.subscribe(handler);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Nodes {
  /** Node A: where conversations are changed and messages sent. */
  readonly conversations: ConversationService;
  readonly messages: MessageService;
  readonly busA: NatsBus;
  /** Node B: where the reader connects, its follows held until released. */
  readonly hubB: Hub;
  readonly busB: GatedBus;
}

describe('Hub on an interest-routed bus', { skip: skipReason(natsUnavailable()) }, () => {
  let server: NatsServer;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Two nodes on one SQLite store and one nats-server; only node B has a Hub with connections. */
  async function nodes(): Promise<Nodes> {
    const ids = new MsgIdAllocator(1);
    const store = new SqliteStore(':memory:', { allocator: (last) => ids.next(last) });
    const busA = await NatsBus.open({ url: server.url });
    const busB = new GatedBus(await NatsBus.open({ url: server.url }));
    const fail = (err: unknown): void => assert.fail(err as Error);
    const conversations = new ConversationService(store, busA, fail);
    const messages = new MessageService(store, busA, conversations, 4096, fail);
    const hubB = new Hub({
      store,
      bus: busB,
      clock: new ManualClock(),
      logger: pino({ level: 'silent' }),
      nodeId: 'b',
      queueMaxMessages: 100,
      queueMaxBytes: 1 << 20,
      maxConnections: 100,
      replayLimit: 1000,
    });
    cleanups.push(async () => {
      hubB.closeAll(CloseReason.GoingAway);
      await Promise.all([busA.close(), busB.close()]);
      await store.close();
    });
    return { conversations, messages, busA, hubB, busB };
  }

  function attach(hub: Hub, session: string, wire: FakeWire, lastMsgId: string | null) {
    return hub.attach(wire, {
      session,
      platform: 1,
      lastMsgId,
      expiresAtMs: Date.now() + 3_600_000,
      issuedAtSec: Math.floor(Date.now() / 1000),
      events: false,
    });
  }

  /** Sends on node A and waits until nats-server has taken the event: it is routed by then. */
  async function sendOnA(n: Nodes, conversationId: string, content: string): Promise<string> {
    const m = await n.messages.send('alice', { conversationId, status: 0, type: 0, content });
    await n.busA.ping();
    return m.MsgId;
  }

  it('brings a joined session the messages sent before its node followed the conversation', async () => {
    const n = await nodes();
    const other = await n.conversations.create('bob', 0, []);
    const c = await n.conversations.create('alice', 0, []);
    await sendOnA(n, c, 'before the join');
    const bob = new FakeWire();
    await attach(n.hubB, 'bob', bob, null);
    n.busB.hold();
    await n.conversations.join(c, 'bob');
    await n.busB.changes.until(() => n.busB.asked.includes(c), 5000, 'node B to follow');
    // Node B does not hear c yet: these reach it only through the join's position.
    const sent = [await sendOnA(n, c, 'one'), await sendOnA(n, c, 'two')];
    assert.deepEqual(bob.ids, []);
    n.busB.release();
    await bob.wrote(2);
    const third = await sendOnA(n, c, 'three');
    await bob.wrote(3);
    assert.deepEqual(bob.ids, [...sent, third]);
    assert.ok(n.busB.asked.includes(other));
  });

  it('answers attach once the session’s conversations are followed, not before', async () => {
    const n = await nodes();
    const c = await n.conversations.create('alice', 0, ['bob']);
    const first = await sendOnA(n, c, 'first');
    const bob = new FakeWire();
    n.busB.hold();
    let attached = false;
    const attaching = attach(n.hubB, 'bob', bob, first).then(() => (attached = true));
    await n.busB.changes.until(() => n.busB.asked.includes(c), 5000, 'node B to follow');
    const missed = await sendOnA(n, c, 'while following');
    assert.equal(attached, false, 'attach waits for the follow');
    n.busB.release();
    await attaching;
    const live = await sendOnA(n, c, 'live');
    await bob.wrote(2);
    assert.deepEqual(bob.ids, [missed, live]);
  });

  it('stops hearing a conversation when its last member here goes', async () => {
    const n = await nodes();
    const c = await n.conversations.create('alice', 0, ['bob']);
    const bob = new FakeWire();
    const heard: BusEvent[] = [];
    n.busB.subscribe((e) => heard.push(e));
    await attach(n.hubB, 'bob', bob, null);
    const m = await sendOnA(n, c, 'heard');
    await bob.wrote(1);
    n.hubB.closeAll(CloseReason.GoingAway);
    await n.busB.ping();
    await sendOnA(n, c, 'not heard');
    // A global event after it from the same publisher: node B hears it, and so nothing between.
    await n.busA.publish({ type: 'revoked', session: 'x', platform: null, revokedBefore: 0 });
    await n.busB.ping();
    const messages = heard.filter((e) => e.type === 'message').map((e) => e.msgId);
    assert.deepEqual(messages, [m]);
  });
});
