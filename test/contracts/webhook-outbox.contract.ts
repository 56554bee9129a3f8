import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  conversationCreated,
  conversationJoined,
  conversationLeft,
  messageCreated,
} from '../../src/domain/webhook-event.js';
import type { Store } from '../../src/store/store.js';
import type { MessageEventOf, OutboxEvent } from '../../src/store/webhook-outbox.js';
import { draft, withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

const T0 = 1_800_000_000_000;
const LEASE = 20_000;

const onMessage: MessageEventOf = (m) => messageCreated(m, [], T0);
const joined = (c: string) => (s: readonly string[]) => conversationJoined(c, s, T0);
const left = (c: string, kicked: boolean) => (s: readonly string[]) =>
  conversationLeft(c, s, kicked, T0);

/** The parsed body of an outbox event. */
function bodyOf(e: OutboxEvent): { type: string; data: Record<string, unknown> } {
  return JSON.parse(e.body) as { type: string; data: Record<string, unknown> };
}

/** Leases, delivers and deletes every event, one conversation head at a time; returns them in order. */
async function drain(store: Store): Promise<OutboxEvent[]> {
  const out: OutboxEvent[] = [];
  for (;;) {
    const batch = await store.leaseWebhookEvents('n1', T0, T0 + LEASE, 100);
    if (batch.length === 0) return out;
    for (const e of batch) {
      out.push(e);
      await store.deleteWebhookEvent(e.id);
    }
  }
}

/** A conversation created with its `conversation.created` event. */
async function created(store: Store, sessions: readonly string[]): Promise<string> {
  const id = randomUUID();
  await store.createConversation(id, 0, sessions, conversationCreated(id, 0, sessions, T0));
  return id;
}

/**
 * The conformance suite of the webhook outbox: events written in the transaction of what they
 * report (and only when something changed), leased one per conversation at a time, oldest
 * first, by one owner at a time.
 */
export function webhookOutboxContract(name: string, factory: StoreFactory<Store>): void {
  describe(`${name} conforms to WebhookOutbox`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withStoreOf(factory, fn);

    it('writes each change with its event, in order, only when something changed', () =>
      withStore(async (store) => {
        const c = await created(store, ['alice', 'bob']);
        // The first append of a conversation and the later ones (PostgreSQL: the locked
        // transaction, then the one-statement append), with and without a key.
        const m1 = await store.appendMessage(draft(c, 'alice', { event: onMessage }));
        const m2 = await store.appendMessage(draft(c, 'bob', { event: onMessage }));
        const m3 = await store.appendMessage(
          draft(c, 'alice', { event: onMessage, clientMsgId: 'k' }),
        );
        // A deduplicated retry, a refused sender, an unknown conversation: no event.
        const dup = await store.appendMessage(
          draft(c, 'alice', { event: onMessage, clientMsgId: 'k' }),
        );
        assert.equal(dup.kind, 'duplicate');
        assert.equal(
          (await store.appendMessage(draft(c, 'mallory', { event: onMessage }))).kind,
          'not-member',
        );
        assert.equal(
          (await store.appendMessage(draft(randomUUID(), 'alice', { event: onMessage }))).kind,
          'not-found',
        );
        const m4 = await store.appendUnchecked(draft(c, 'system', { event: onMessage }));
        // Membership: only the sessions actually changed, nothing when none did.
        assert.equal(await store.joinBySelf(c, 'carol', joined(c)), 'joined');
        assert.equal(await store.joinBySelf(c, 'carol', joined(c)), 'already-member');
        assert.deepEqual(await store.joinByInner(c, ['carol', 'dave', 'erin'], joined(c)), [
          'dave',
          'erin',
        ]);
        assert.deepEqual(await store.joinByInner(c, ['dave'], joined(c)), []);
        assert.equal(await store.leave(c, 'erin', left(c, false)), true);
        assert.equal(await store.leave(c, 'erin', left(c, false)), false);
        assert.deepEqual(await store.kick(c, ['dave', 'erin', 'zed'], left(c, true)), ['dave']);
        assert.deepEqual(await store.kick(c, ['dave'], left(c, true)), []);
        assert.equal(await store.joinByInner(randomUUID(), ['x'], joined(c)), undefined);

        assert.equal(await store.countWebhookEvents(), 9);
        const events = await drain(store);
        assert.equal(await store.countWebhookEvents(), 0);
        assert.deepEqual(
          events.map((e) => {
            const { type, data } = bodyOf(e);
            return [type, data.MsgId ?? data.Sessions];
          }),
          [
            ['conversation.created', ['alice', 'bob']],
            ['message.created', m1.kind === 'appended' ? m1.message.MsgId : '?'],
            ['message.created', m2.kind === 'appended' ? m2.message.MsgId : '?'],
            ['message.created', m3.kind === 'appended' ? m3.message.MsgId : '?'],
            ['message.created', m4.kind === 'appended' ? m4.message.MsgId : '?'],
            ['conversation.joined', ['carol']],
            ['conversation.joined', ['dave', 'erin']],
            ['conversation.left', ['erin']],
            ['conversation.left', ['dave']],
          ],
        );
        assert.ok(events.every((e) => e.conversationId === c && e.attempts === 0));
        assert.ok(events.every((e) => e.createdAtMs === T0));
        assert.equal(new Set(events.map((e) => e.id)).size, events.length);
      }));

    it('writes nothing without an event, or when the change itself fails (same transaction)', () =>
      withStore(async (store) => {
        const plain = randomUUID();
        await store.createConversation(plain, 0, ['alice', 'bob']);
        await store.appendMessage(draft(plain, 'alice'));
        await store.joinByInner(plain, ['carol']);
        await store.leave(plain, 'bob');
        assert.equal(await store.countWebhookEvents(), 0);
        assert.deepEqual(await store.leaseWebhookEvents('n1', T0, T0 + LEASE, 10), []);
        const c = await created(store, ['alice']);
        await drain(store);
        // Creating an existing id fails: its event must not be left behind.
        await assert.rejects(
          store.createConversation(c, 0, ['bob'], conversationCreated(c, 0, ['bob'], T0)),
        );
        assert.equal(await store.countWebhookEvents(), 0);
      }));

    it('leases only the oldest event of each conversation, to one owner at a time', () =>
      withStore(async (store) => {
        const a = await created(store, ['alice']);
        const b = await created(store, ['bob']);
        await store.appendMessage(draft(a, 'alice', { event: onMessage }));
        const first = await store.leaseWebhookEvents('n1', T0, T0 + LEASE, 10);
        assert.deepEqual(
          first.map((e) => [e.conversationId, bodyOf(e).type]),
          [
            [a, 'conversation.created'],
            [b, 'conversation.created'],
          ],
        );
        // Leased: no owner gets them again until the lease expires; the later event of `a`
        // waits behind its head.
        assert.deepEqual(await store.leaseWebhookEvents('n2', T0 + 1, T0 + LEASE, 10), []);
        assert.deepEqual(await store.leaseWebhookEvents('n1', T0 + 1, T0 + LEASE, 10), []);
        const taken = await store.leaseWebhookEvents('n2', T0 + LEASE, T0 + 2 * LEASE, 1);
        assert.deepEqual(
          taken.map((e) => e.id),
          [first[0]?.id],
          'an expired lease is taken over, oldest first, within the limit',
        );
        await store.deleteWebhookEvent(first[0]?.id as string);
        const next = await store.leaseWebhookEvents('n2', T0 + LEASE, T0 + 2 * LEASE, 10);
        assert.deepEqual(
          next.map((e) => [e.conversationId, bodyOf(e).type]),
          [
            [b, 'conversation.created'],
            [a, 'message.created'],
          ],
        );
      }));

    it('a retried event waits until it is due, keeps its id and counts its attempts', () =>
      withStore(async (store) => {
        const c = await created(store, ['alice']);
        await store.appendMessage(draft(c, 'alice', { event: onMessage }));
        const [head] = await store.leaseWebhookEvents('n1', T0, T0 + LEASE, 10);
        assert.ok(head);
        await store.retryWebhookEvent(head.id, 1, T0 + 1000);
        assert.deepEqual(await store.leaseWebhookEvents('n1', T0 + 999, T0 + LEASE, 10), []);
        const [again] = await store.leaseWebhookEvents('n2', T0 + 1000, T0 + LEASE, 10);
        assert.equal(again?.id, head.id);
        assert.equal(again?.attempts, 1);
        assert.equal(again?.body, head.body);
        assert.equal(await store.countWebhookEvents(), 2);
      }));
  });
}
