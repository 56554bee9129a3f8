import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { webhookKey } from '../config/values.js';
import { conversationCreated, messageCreated } from '../domain/webhook-event.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { draft, newAllocator } from '../../test/contracts/store-fixtures.js';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { tempDataDir } from '../../test/helpers/server.js';
import { Changes } from '../../test/helpers/wait.js';
import { WebhookReceiver } from '../../test/helpers/webhook-receiver.js';
import { bodyOf, webhookSecret } from '../../test/helpers/webhooks.js';
import { WebhookDelivery, backoffMs } from './delivery-worker.js';

const SECRET = webhookSecret();
const DAY_MS = 24 * 3600_000;

describe('backoffMs', () => {
  it('doubles from the first wait to the cap, with at most ±20 % jitter', () => {
    const mid = (a: number) => backoffMs(a, 1000, 300_000, () => 0.5);
    assert.deepEqual(
      [1, 2, 3, 4, 9, 10, 30].map(mid),
      [1000, 2000, 4000, 8000, 256_000, 300_000, 300_000],
    );
    assert.equal(
      backoffMs(3, 1000, 300_000, () => 0),
      3200,
    );
    assert.equal(
      backoffMs(3, 1000, 300_000, () => 0.999_999),
      4800,
    );
  });
});

describe('WebhookDelivery', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fixture() {
    const receiver = await WebhookReceiver.start(SECRET);
    const dir = tempDataDir();
    const store = new SqliteStore(join(dir, 'quick-im.db'), { allocator: newAllocator() });
    const clock = new ManualClock();
    const changes = new Changes();
    const counts = { delivered: 0, failed: 0, dropped: 0 };
    const logs: { fields: Record<string, unknown>; msg: string }[] = [];
    const workers: WebhookDelivery[] = [];
    const worker = (owner: string): WebhookDelivery => {
      const w = new WebhookDelivery({
        url: receiver.url,
        key: webhookKey(SECRET),
        outbox: store,
        clock,
        owner,
        log: {
          warn: (fields, msg) => {
            logs.push({ fields, msg });
            changes.notify();
          },
        },
        metrics: {
          delivered: () => (counts.delivered++, changes.notify()),
          failed: () => (counts.failed++, changes.notify()),
          dropped: () => (counts.dropped++, changes.notify()),
          pending: () => {},
        },
      });
      workers.push(w);
      return w;
    };
    cleanups.push(async () => {
      for (const w of workers) w.stop();
      await receiver.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { receiver, store, clock, changes, counts, logs, worker };
  }

  it('drops an event still failing 24 hours after it happened, with a log line and a metric, releasing its conversation', async () => {
    const { receiver, store, clock, changes, counts, logs, worker } = await fixture();
    receiver.answer = (r) => (bodyOf(r).type === 'conversation.created' ? 500 : 200);
    const old = clock.now() - DAY_MS + 500;
    await store.createConversation('c', 0, ['alice'], conversationCreated('c', 0, ['alice'], old));
    await store.appendMessage(
      draft('c', 'alice', { event: (m) => messageCreated(m, [], clock.now()) }),
    );
    worker('n1').start();
    await changes.until(() => counts.delivered === 1, 10_000, 'the next event delivered');
    assert.deepEqual(counts, { delivered: 1, failed: 1, dropped: 1 });
    const dropped = logs.find((l) => /dropped/.test(l.msg));
    assert.ok(dropped, JSON.stringify(logs));
    assert.equal(dropped.fields.conversationId, 'c');
    assert.deepEqual(
      receiver.received.map((r) => [bodyOf(r).type, r.status]),
      [
        ['conversation.created', 500],
        ['message.created', 200],
      ],
    );
    assert.equal(await store.countWebhookEvents(), 0);
  });

  it('abandons a delivery in flight at stop; it is sent again, same id, once its lease expires', async () => {
    const { receiver, store, clock, changes, counts, worker } = await fixture();
    receiver.answer = () => 'hang';
    await store.createConversation(
      'c',
      0,
      ['alice'],
      conversationCreated('c', 0, ['alice'], clock.now()),
    );
    const first = worker('n1');
    first.start();
    await receiver.until((all) => all.length === 1, 10_000, 'the first attempt');
    first.stop();
    receiver.answer = () => 200;
    const second = worker('n2');
    second.start();
    // Leased by n1: n2 waits for the lease to expire (20 s), then sends it.
    clock.advance(21_000);
    await changes.until(() => counts.delivered === 1, 10_000, 'the second attempt delivered');
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[1]?.id, receiver.received[0]?.id);
    assert.equal(await store.countWebhookEvents(), 0);
  });
});
