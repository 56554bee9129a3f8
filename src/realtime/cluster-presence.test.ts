import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { MemoryBus } from '../bus/memory-bus.js';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { ClusterPresence } from './cluster-presence.js';

/** A Hub stand-in: the sessions "connected here", by platform. */
class FakeHub {
  readonly held = new Map<string, number[]>();
  platformsOf(session: string): number[] {
    return [...(this.held.get(session) ?? [])].sort((a, b) => a - b);
  }
  presence(): Iterable<[string, number[]]> {
    return [...this.held].map(([s, p]) => [s, [...p]] as [string, number[]]);
  }
}

const logger = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;

function node(bus: MemoryBus, clock: ManualClock, nodeId: string) {
  const hub = new FakeHub();
  const presence = new ClusterPresence({
    hub,
    bus,
    clock,
    nodeId,
    logger,
    snapshotMs: 10_000,
    ttlMs: 25_000,
  });
  return { hub, presence };
}

describe('ClusterPresence', () => {
  it('merges this node’s platforms with those other nodes announced, ascending', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock();
    const a = node(bus, clock, 'a');
    const b = node(bus, clock, 'b');
    a.presence.start();
    b.presence.start();
    a.hub.held.set('alice', [3]);
    await bus.publish({
      type: 'connected',
      session: 'alice',
      platform: 3,
      generation: 'g',
      nodeId: 'a',
    });
    b.hub.held.set('alice', [1]);
    assert.deepEqual(b.presence.platformsOf('alice'), [1, 3]);
    await bus.publish({ type: 'disconnected', session: 'alice', platform: 3, nodeId: 'a' });
    assert.deepEqual(b.presence.platformsOf('alice'), [1]);
    assert.deepEqual(b.presence.platformsOf('nobody'), []);
  });

  it('learns a node’s set from its snapshot, which replaces what was known', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock();
    const a = node(bus, clock, 'a');
    const b = node(bus, clock, 'b');
    a.hub.held.set('early', [2]);
    b.presence.start();
    a.presence.start(); // its first snapshot
    assert.deepEqual(b.presence.platformsOf('early'), [2]);
    a.hub.held.clear();
    a.hub.held.set('late', [4]);
    clock.advance(10_000); // a's next snapshot
    assert.deepEqual(b.presence.platformsOf('early'), []);
    assert.deepEqual(b.presence.platformsOf('late'), [4]);
  });

  it('forgets a node not heard from for its TTL', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock();
    const b = node(bus, clock, 'b');
    b.presence.start();
    await bus.publish({
      type: 'presence',
      nodeId: 'dead',
      ttlMs: 25_000,
      part: 0,
      last: true,
      sessions: [['ghost', [1]]],
    });
    clock.advance(24_999);
    assert.deepEqual(b.presence.platformsOf('ghost'), [1]);
    clock.advance(1);
    assert.deepEqual(b.presence.platformsOf('ghost'), []);
  });

  it('swaps a snapshot in only at its last part, and ignores parts of one it joined midway', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock();
    const b = node(bus, clock, 'b');
    b.presence.start();
    const part = (n: number, last: boolean, session: string) =>
      bus.publish({
        type: 'presence',
        nodeId: 'x',
        ttlMs: 25_000,
        part: n,
        last,
        sessions: [[session, [1]]],
      });
    await part(1, true, 'midway');
    assert.deepEqual(b.presence.platformsOf('midway'), []);
    await part(0, false, 's0');
    assert.deepEqual(b.presence.platformsOf('s0'), [], 'not before the last part');
    await part(1, true, 's1');
    assert.deepEqual([b.presence.platformsOf('s0'), b.presence.platformsOf('s1')], [[1], [1]]);
  });

  it('answers an unknown node’s snapshot with its own at once', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock();
    const a = node(bus, clock, 'a');
    a.hub.held.set('alice', [1]);
    a.presence.start();
    const b = node(bus, clock, 'b');
    b.presence.start(); // b is unknown to a: a re-announces on its next timer turn
    clock.advance(0);
    assert.deepEqual(b.presence.platformsOf('alice'), [1]);
    a.presence.stop();
    b.presence.stop();
    assert.equal(clock.pendingTimers, 0);
  });
});
