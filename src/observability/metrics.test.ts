import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBus } from '../bus/memory-bus.js';
import { Metrics, measured } from './metrics.js';

/** Observations recorded under `method` in the store histogram. */
async function countOf(metrics: Metrics, method: string): Promise<number> {
  const { values } = await metrics.storeSeconds.get();
  const count = values.find(
    (v) => v.metricName === 'quickim_store_seconds_count' && v.labels.method === method,
  );
  return count?.value ?? 0;
}

describe('measured', () => {
  class Target {
    calls = 0;
    async ok(x: number): Promise<number> {
      this.calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return x * 2;
    }
    async fail(): Promise<never> {
      await Promise.resolve();
      throw new Error('boom');
    }
    sync(): string {
      return this.constructor.name;
    }
  }

  it('passes results, rejections and `this` through, and observes every call once', async () => {
    const metrics = new Metrics();
    const target = new Target();
    const m = measured(target, metrics.storeSeconds);
    assert.equal(await m.ok(21), 42);
    assert.equal(await m.ok(1), 2);
    await assert.rejects(m.fail(), /boom/);
    assert.equal(m.sync(), 'Target');
    assert.equal(target.calls, 2);
    assert.equal(await countOf(metrics, 'ok'), 2);
    assert.equal(await countOf(metrics, 'fail'), 1);
    assert.equal(await countOf(metrics, 'sync'), 1);
    const { values } = await metrics.storeSeconds.get();
    const sum = values.find(
      (v) => v.metricName === 'quickim_store_seconds_sum' && v.labels.method === 'ok',
    );
    assert.ok((sum?.value ?? 0) >= 0.008, `two 5 ms calls observed, sum ${sum?.value}`);
  });

  it('leaves no unhandled rejection behind a failing call the caller handles', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const m = measured(new Target(), new Metrics().storeSeconds);
      await m.fail().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('the bus histogram', () => {
  it('is named for what it measures and observes every bus call, not only publish', async () => {
    const metrics = new Metrics();
    const bus = measured(new MemoryBus(), metrics.busSeconds);
    const unsubscribe = bus.subscribe(() => {});
    await bus.publish({ type: 'disconnected', session: 's', platform: 1, nodeId: 'n' });
    await bus.ping();
    unsubscribe();
    await bus.close();
    const { values } = await metrics.busSeconds.get();
    const counted = values
      .filter((v) => v.metricName === 'quickim_bus_call_seconds_count')
      .map((v) => `${String(v.labels.method)}=${v.value}`)
      .sort();
    assert.deepEqual(counted, ['close=1', 'ping=1', 'publish=1', 'subscribe=1']);
  });
});
