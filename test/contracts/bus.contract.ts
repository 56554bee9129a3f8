import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, BusEvent } from '../../src/bus/bus.js';
import { Changes } from '../helpers/wait.js';

/**
 * Two buses on one medium (two nodes), or the same in-process bus twice. `routes`: a node hears
 * a conversation's `message` and `read` events only while it follows it (false: every node
 * hears everything, as one in-process bus does).
 */
export type BusFactory = () => Promise<{
  a: Bus;
  b: Bus;
  routes: boolean;
  cleanup: () => Promise<void>;
}>;

interface Collector {
  readonly events: BusEvent[];
  /** Resolves once `n` events arrived. */
  until(n: number): Promise<void>;
  /** Resolves once an event equal to `event` arrived. */
  heard(event: BusEvent): Promise<void>;
}

function collector(bus: Bus): Collector {
  const events: BusEvent[] = [];
  const changes = new Changes();
  bus.subscribe((e) => {
    events.push(e);
    changes.notify();
  });
  return {
    events,
    until: (n) =>
      changes.until(
        () => events.length >= n,
        5000,
        () => `${n} events`,
      ),
    heard: (event) =>
      changes.until(
        () => events.some((e) => JSON.stringify(e) === JSON.stringify(event)),
        5000,
        () => `${JSON.stringify(event)} (heard ${events.length} events)`,
      ),
  };
}

const message = (i: number, conversationId = 'c-1'): BusEvent => ({
  type: 'message',
  conversationId,
  msgId: `id-${String(i).padStart(4, '0')}`,
  prevMsgId: i % 2 === 0 ? null : `id-${String(i - 1).padStart(4, '0')}`,
  frame: JSON.stringify({ MsgId: `id-${i}`, Content: `line one\nline two ✓ ${i} "quoted"` }),
});

/** A global event, numbered. */
const marker = (part: number): BusEvent => ({
  type: 'presence',
  nodeId: 'marker',
  ttlMs: 1000,
  part,
  last: true,
  sessions: [],
});

/**
 * The conformance suite of the `Bus` seam, run by every implementation's test file with a
 * factory giving two connected buses (two nodes).
 */
export function busContract(name: string, factory: BusFactory): void {
  describe(`${name} conforms to the Bus contract`, () => {
    async function withBuses(
      fn: (a: Bus, b: Bus, routes: boolean) => Promise<void>,
    ): Promise<void> {
      const { a, b, routes, cleanup } = await factory();
      try {
        await fn(a, b, routes);
      } finally {
        await cleanup();
      }
    }

    it('delivers every event type intact to every node, the publisher included', () =>
      withBuses(async (a, b) => {
        await b.follow('c-1');
        const atA = collector(a);
        const atB = collector(b);
        const events: BusEvent[] = [
          message(1),
          {
            type: 'membership',
            conversationId: 'c-1',
            sessions: ['s1', 'ß2'],
            changed: ['ß2'],
            change: 'joined',
          },
          {
            type: 'membership',
            conversationId: 'c-1',
            sessions: ['s1'],
            changed: [],
            change: 'left',
          },
          { type: 'connected', session: 'alice', platform: 3, generation: 'g-1', nodeId: 'n1' },
          {
            type: 'read',
            conversationId: 'c-1',
            session: 'alice',
            readMsgId: 'EDCZL-SY32-243Y-VWQ',
          },
          { type: 'disconnected', session: 'alice', platform: 3, nodeId: 'n1' },
          {
            type: 'presence',
            nodeId: 'n1',
            ttlMs: 25_000,
            part: 0,
            last: true,
            sessions: [['alice', [1, 3]]],
          },
          { type: 'revoked', session: 'alice', platform: null, revokedBefore: 1_700_000_000 },
        ];
        for (const e of events) await a.publish(e);
        await atA.until(events.length);
        await atB.until(events.length);
        assert.deepEqual(atA.events, events);
        assert.deepEqual(atB.events, events);
      }));

    it('keeps one publisher’s order', () =>
      withBuses(async (a, b) => {
        await b.follow('c-1');
        const atB = collector(b);
        const sent = Array.from({ length: 200 }, (_, i) => message(i));
        await Promise.all(sent.map((e) => a.publish(e)));
        await atB.until(sent.length);
        assert.deepEqual(atB.events, sent);
      }));

    it('shows an event to every node before any event published after it resolved', () =>
      withBuses(async (a, b) => {
        await Promise.all([a.follow('c-1'), b.follow('c-1')]);
        const atA = collector(a);
        const atB = collector(b);
        for (let i = 0; i < 20; i++) {
          await a.publish(message(2 * i));
          await b.publish(message(2 * i + 1));
        }
        await atA.until(40);
        await atB.until(40);
        const expected = Array.from({ length: 40 }, (_, i) => message(i));
        assert.deepEqual(atA.events, expected);
        assert.deepEqual(atB.events, expected);
      }));

    it('stops calling a handler once it unsubscribes', () =>
      withBuses(async (a, b) => {
        await b.follow('c-1');
        const seen: BusEvent[] = [];
        const off = b.subscribe((e) => seen.push(e));
        const all = collector(b);
        await a.publish(message(1));
        await all.until(1);
        off();
        await a.publish(message(2));
        await all.until(2);
        assert.deepEqual(seen, [message(1)]);
      }));

    it('routes a conversation’s events only to the nodes that follow it', () =>
      withBuses(async (a, b, routes) => {
        const atB = collector(b);
        const read: BusEvent = {
          type: 'read',
          conversationId: 'c-2',
          session: 'alice',
          readMsgId: 'EDCZL-SY32-243Y-VWQ',
        };
        await a.publish(message(1, 'c-2'));
        await a.publish(read);
        // Global, and after them from the same publisher: once b hears it, it heard them too.
        await a.publish(marker(1));
        await atB.heard(marker(1));
        assert.deepEqual(atB.events, routes ? [marker(1)] : [message(1, 'c-2'), read, marker(1)]);
      }));

    it('brings a followed conversation’s events once follow resolves, until the last unfollow', () =>
      withBuses(async (a, b, routes) => {
        const atB = collector(b);
        await b.follow('c-3');
        await b.follow('c-3');
        await a.publish(message(1, 'c-3'));
        b.unfollow('c-3');
        await a.publish(message(2, 'c-3'));
        await a.publish(marker(1));
        await atB.heard(marker(1));
        b.unfollow('c-3');
        await a.publish(message(3, 'c-3'));
        await a.publish(marker(2));
        await atB.heard(marker(2));
        const heard = [message(1, 'c-3'), message(2, 'c-3'), marker(1)];
        const after = routes ? [marker(2)] : [message(3, 'c-3'), marker(2)];
        assert.deepEqual(atB.events, [...heard, ...after]);
      }));

    it('routes conversations whose ids cannot be subject tokens, each apart', () =>
      withBuses(async (a, b, routes) => {
        const atB = collector(b);
        const odd = ['c.6', 'c 6', 'c*6', '', 'x'.repeat(300), 'Yy42'];
        await b.follow('c.6');
        await b.follow('x'.repeat(300));
        for (const id of odd) await a.publish(message(6, id));
        await a.publish(marker(1));
        await atB.heard(marker(1));
        const expected = routes ? [odd[0], odd[4]] : odd;
        assert.deepEqual(atB.events, [...expected.map((id) => message(6, id)), marker(1)]);
      }));

    it('shows a node its own events of conversations it does not follow', () =>
      withBuses(async (a) => {
        const atA = collector(a);
        await a.publish(message(1, 'c-4'));
        assert.deepEqual(atA.events, [message(1, 'c-4')]);
      }));

    it('keeps one publisher’s order across a follow: a suffix, with all sent after it', () =>
      withBuses(async (a, b) => {
        const atB = collector(b);
        const early = Array.from({ length: 100 }, (_, i) => message(i, 'c-5'));
        const late = Array.from({ length: 100 }, (_, i) => message(100 + i, 'c-5'));
        const sending = early.map((e) => a.publish(e));
        await b.follow('c-5');
        await Promise.all([...sending, ...late.map((e) => a.publish(e))]);
        await atB.until(1);
        await atB.heard(late.at(-1) as BusEvent);
        const all = [...early, ...late];
        const start = all.findIndex((e) => JSON.stringify(e) === JSON.stringify(atB.events[0]));
        assert.ok(start >= 0 && start <= early.length, 'starts at or before the follow');
        assert.deepEqual(atB.events, all.slice(start));
      }));

    it('answers ping while open and rejects it after close', () =>
      withBuses(async (a) => {
        await a.ping();
        await a.close();
        await assert.rejects(a.ping());
      }));
  });
}
