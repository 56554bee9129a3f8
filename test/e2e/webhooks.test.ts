import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { expectOk } from '../helpers/http.js';
import { waitUntil } from '../helpers/processes.js';
import { closeAll, openPush } from '../helpers/push-clients.js';
import type { PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import {
  bodyOf,
  deliveredBodies,
  deliveredIds,
  webhookSecret,
  webhookSettings,
} from '../helpers/webhooks.js';

const WAIT_MS = 15_000;
const SECRET = webhookSecret();

describe('webhooks (one node, SQLite)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const pushes = new Set<PushClient>();
  afterEach(async () => {
    await closeAll(pushes);
    pushes.clear();
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function receiver(port?: number): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start(SECRET, port);
    cleanups.push(() => r.close());
    return r;
  }

  async function server(r: WebhookReceiver, extra = {}): Promise<TestServer> {
    const s = await startServer({ ...webhookSettings(r, SECRET), ...extra });
    cleanups.push(() => s.close(true));
    return s;
  }

  const send = (s: TestServer, token: string, c: string, content: string, extra = {}) =>
    s.post('/send_msg', { conversation_id: c, status: 0, type: 1, content, ...extra }, token);

  it('posts each type signed (verified by standardwebhooks), with exactly the listed keys', async () => {
    const r = await receiver();
    const s = await server(r);
    const [alice, bob, dave] = await Promise.all(['alice', 'bob', 'dave'].map((u) => s.token(u)));
    pushes.add(await openPush(s, 'ws', bob as string)); // bob is online, carol is not
    const c = expectOk(
      await s.post(
        '/create_conversation',
        { conversation_type: 3, sessions: ['bob', 'carol', 'bob'] },
        alice,
      ),
    ).ConversationId as string;
    const m1 = expectOk(await send(s, alice as string, c, 'hello')).MsgID as string;
    expectOk(await s.post('/join_conversation', { conversation_id: c }, dave));
    expectOk(await s.post('/join_conversation', { conversation_id: c }, dave)); // no change
    expectOk(
      await s.post('/inner/join_conversation', { conversation_id: c, sessions: ['dave', 'erin'] }),
    );
    expectOk(await s.post('/inner/join_conversation', { conversation_id: c, sessions: ['erin'] }));
    expectOk(await s.post('/leave_conversation', { conversation_id: c }, dave));
    expectOk(await s.post('/leave_conversation', { conversation_id: c }, dave)); // no change
    expectOk(
      await s.post('/inner/kickout_conversation', {
        conversation_id: c,
        sessions: ['erin', 'zed'],
      }),
    );
    const m2 = expectOk(
      await s.post('/inner/send_msg', {
        conversation_id: c,
        from_session: 'system',
        status: 2,
        type: 5,
        content: 'notice',
      }),
    ).MsgID as string;
    const c2 = await s.createConversation(['x', 'y']);

    await r.until((all) => all.length >= 8, WAIT_MS, '8 webhooks');
    assert.equal(r.received.length, 8, 'one request per event, none for the no-op calls');
    for (const req of r.received) {
      assert.ok(req.verified, `standardwebhooks verifies ${req.id}`);
      assert.equal(req.headers['content-type'], 'application/json');
      assert.match(req.id, /^evt_[0-9a-f]{32}$/);
      assert.ok(Math.abs(req.timestamp - Date.now() / 1000) < 30, 'webhook-timestamp is now');
      assert.match(String(req.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
      assert.deepEqual(Object.keys(JSON.parse(req.body) as object), ['type', 'timestamp', 'data']);
      const body = bodyOf(req);
      assert.equal(new Date(body.timestamp).toISOString(), body.timestamp);
      assert.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 30_000);
    }
    assert.equal(new Set(r.received.map((x) => x.id)).size, 8, 'distinct ids');
    // A body signed with another secret does not verify: the check above is a real one.
    const first = r.received[0];
    assert.ok(first);
    assert.throws(() =>
      new Webhook(webhookSecret()).verify(first.body, {
        'webhook-id': first.id,
        'webhook-timestamp': String(first.timestamp),
        'webhook-signature': String(first.headers['webhook-signature']),
      }),
    );

    const events = deliveredBodies(r, c).map((b) => ({ type: b.type, data: b.data }));
    const sendTimes = events
      .filter((e) => e.type === 'message.created')
      .map((e) => e.data.SendTime as number);
    assert.ok(
      sendTimes.every((t) => Number.isInteger(t) && t > 1e15),
      'SendTime in µs',
    );
    assert.deepEqual(events, [
      {
        type: 'conversation.created',
        data: { ConversationID: c, ConversationType: 3, Sessions: ['alice', 'bob', 'carol'] },
      },
      {
        type: 'message.created',
        data: {
          MsgId: m1,
          ConversationID: c,
          FromSession: 'alice',
          SendTime: sendTimes[0],
          Status: 0,
          Type: 1,
          Content: 'hello',
          OfflineSessions: ['carol'],
        },
      },
      { type: 'conversation.joined', data: { ConversationID: c, Sessions: ['dave'] } },
      { type: 'conversation.joined', data: { ConversationID: c, Sessions: ['erin'] } },
      { type: 'conversation.left', data: { ConversationID: c, Sessions: ['dave'], Kicked: false } },
      { type: 'conversation.left', data: { ConversationID: c, Sessions: ['erin'], Kicked: true } },
      {
        type: 'message.created',
        data: {
          MsgId: m2,
          ConversationID: c,
          FromSession: 'system',
          SendTime: sendTimes[1],
          Status: 2,
          Type: 5,
          Content: 'notice',
          OfflineSessions: ['alice', 'carol'],
        },
      },
    ]);
    assert.deepEqual(deliveredBodies(r, c2)[0]?.data, {
      ConversationID: c2,
      ConversationType: 0,
      Sessions: ['x', 'y'],
    });
  });

  it('delivers 50 messages of a conversation in order; a deduplicated retry emits nothing', async () => {
    const r = await receiver();
    const s = await server(r);
    const alice = await s.token('alice');
    const c = await s.createConversation(['alice', 'bob']);
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const extra = i === 10 ? { client_msg_id: 'k-10' } : {};
      sent.push(expectOk(await send(s, alice, c, `m${i}`, extra)).MsgID as string);
      if (i === 10) {
        const again = expectOk(await send(s, alice, c, 'retry', { client_msg_id: 'k-10' }));
        assert.equal(again.MsgID, sent[10]);
      }
    }
    await r.until((all) => all.length >= 51, WAIT_MS, '51 webhooks');
    const messages = deliveredBodies(r, c).filter((b) => b.type === 'message.created');
    assert.deepEqual(
      messages.map((b) => b.data.MsgId),
      sent,
    );
    assert.deepEqual(
      messages.map((b) => b.data.Content),
      sent.map((_, i) => `m${i}`),
    );
    assert.equal(r.received.length, 51, 'no event for the deduplicated retry');
  });

  it('retries a failing event with the same id and growing gaps; other conversations flow meanwhile', async () => {
    const r = await receiver();
    const s = await server(r);
    const alice = await s.token('alice');
    let failures = 0;
    r.answer = (req) => {
      const body = bodyOf(req);
      if (body.type === 'conversation.created' && body.data.Sessions instanceof Array) {
        if ((body.data.Sessions as string[]).includes('failing') && failures < 3) {
          failures++;
          return 500;
        }
      }
      return 200;
    };
    const failing = await s.createConversation(['alice', 'failing']);
    await r.until((all) => all.length >= 1, WAIT_MS, 'the first attempt');
    expectOk(await send(s, alice, failing, 'held back'));
    const flowing = await s.createConversation(['alice', 'bob']);
    for (let i = 0; i < 5; i++) expectOk(await send(s, alice, flowing, `f${i}`));
    await r.until(
      () => deliveredBodies(r, flowing).length === 6,
      WAIT_MS,
      'the other conversation delivered',
    );
    assert.equal(deliveredBodies(r, failing).length, 0, 'the failing conversation waits');
    await r.until(() => deliveredBodies(r, failing).length === 2, WAIT_MS, 'the retried event');
    const attempts = r.received.filter((x) => bodyOf(x).data.ConversationID === failing);
    assert.deepEqual(
      attempts.map((x) => x.status),
      [500, 500, 500, 200, 200],
    );
    const created = attempts.slice(0, 4);
    assert.equal(new Set(created.map((x) => x.id)).size, 1, 'the same webhook-id on every attempt');
    assert.deepEqual(
      deliveredBodies(r, failing).map((b) => b.type),
      ['conversation.created', 'message.created'],
    );
    // 1 s, 2 s, 4 s, each ±20 % (and the time a request takes).
    const gaps = created.slice(1).map((x, i) => x.at - (created[i] as { at: number }).at);
    gaps.forEach((gap, i) => {
      const base = 1000 * 2 ** i;
      assert.ok(gap >= base * 0.8 - 5 && gap <= base * 1.2 + 500, `gap ${i + 1}: ${gap} ms`);
    });
    assert.ok(
      (gaps[1] as number) > (gaps[0] as number) && (gaps[2] as number) > (gaps[1] as number),
    );
  });

  it('keeps events while the receiver is down and delivers them, in order, once it is up', async () => {
    const down = await WebhookReceiver.start(SECRET);
    const port = Number(new URL(down.url).port);
    await down.close();
    const s = await startServer(webhookSettings(down, SECRET));
    cleanups.push(() => s.close(true));
    const alice = await s.token('alice');
    const c = await s.createConversation(['alice', 'bob']);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++)
      sent.push(expectOk(await send(s, alice, c, `d${i}`)).MsgID as string);
    const failed = async (): Promise<number> => {
      const metric = await s.app.metrics.registry
        .getSingleMetric('quickim_webhook_failed_total')
        ?.get();
      return metric?.values[0]?.value ?? 0;
    };
    await waitUntil(async () => (await failed()) >= 2, WAIT_MS, 'two refused attempts');
    const up = await receiver(port);
    await up.until((all) => all.length >= 6, WAIT_MS, 'every event after the receiver is up');
    assert.deepEqual(
      deliveredBodies(up, c).map((b) => b.data.MsgId ?? b.type),
      ['conversation.created', ...sent],
    );
    assert.equal(deliveredIds(up).size, 6);
  });

  it('a hanging receiver never slows /send_msg, and holds at most --webhook-max-in-flight requests', async () => {
    const r = await receiver();
    r.answer = () => 'hang';
    const s = await server(r, { webhookMaxInFlight: 3 });
    const alice = await s.token('alice');
    const conversations: string[] = [];
    for (let i = 0; i < 10; i++) conversations.push(await s.createConversation(['alice', 'bob']));
    await r.until((all) => all.length >= 3, WAIT_MS, 'three hanging requests');
    let slowest = 0;
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      expectOk(await send(s, alice, conversations[i % 10] as string, `h${i}`));
      slowest = Math.max(slowest, performance.now() - started);
    }
    // A send waiting on the receiver would take its 10 s timeout.
    assert.ok(slowest < 2000, `slowest send ${slowest} ms`);
    assert.equal(r.received.length, 3, 'no more than 3 requests in flight');
  });
});
