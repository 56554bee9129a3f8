import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, BusEvent } from '../../src/bus/bus.js';

/** Two buses on one medium (two nodes), or the same in-process bus twice. */
export type BusFactory = () => Promise<{ a: Bus; b: Bus; cleanup: () => Promise<void> }>;

function collector(bus: Bus): { events: BusEvent[]; until: (n: number) => Promise<void> } {
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  return {
    events,
    async until(n) {
      const deadline = Date.now() + 5000;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${events.length} of ${n} events`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

const message = (i: number): BusEvent => ({
  type: 'message',
  conversationId: 'c-1',
  msgId: `id-${String(i).padStart(4, '0')}`,
  prevMsgId: i % 2 === 0 ? null : `id-${String(i - 1).padStart(4, '0')}`,
  frame: JSON.stringify({ MsgId: `id-${i}`, Content: `line one\nline two ✓ ${i} "quoted"` }),
});

/**
 * The conformance suite of the `Bus` seam, run by every implementation's test file with a
 * factory giving two connected buses (two nodes).
 */
export function busContract(name: string, factory: BusFactory): void {
  describe(`${name} conforms to the Bus contract`, () => {
    async function withBuses(fn: (a: Bus, b: Bus) => Promise<void>): Promise<void> {
      const { a, b, cleanup } = await factory();
      try {
        await fn(a, b);
      } finally {
        await cleanup();
      }
    }

    it('delivers every event type intact to every node, the publisher included', () =>
      withBuses(async (a, b) => {
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
        const atB = collector(b);
        const sent = Array.from({ length: 200 }, (_, i) => message(i));
        await Promise.all(sent.map((e) => a.publish(e)));
        await atB.until(sent.length);
        assert.deepEqual(atB.events, sent);
      }));

    it('shows an event to every node before any event published after it resolved', () =>
      withBuses(async (a, b) => {
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

    it('answers ping while open and rejects it after close', () =>
      withBuses(async (a) => {
        await a.ping();
        await a.close();
        await assert.rejects(a.ping());
      }));
  });
}
