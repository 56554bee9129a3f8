import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_MSG_ID_TTL_MS } from '../../src/store/store.js';
import type { AppendResult, Store } from '../../src/store/store.js';
import { conversation, draft, ids, send, withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

const T0_US = 1_698_119_710_632_897;
const T0_MS = Math.floor(T0_US / 1000);
const TTL_US = CLIENT_MSG_ID_TTL_MS * 1000;

function duplicateOf(result: AppendResult): string {
  assert.equal(result.kind, 'duplicate');
  if (result.kind !== 'duplicate') throw new Error('unreachable');
  return result.message.MsgId;
}

/**
 * The conformance suite of idempotency keys: `appendMessage` and `appendUnchecked` with a
 * `clientMsgId`, and `IdempotencyStore`.
 */
export function idempotencyStoreContract(name: string, factory: StoreFactory<Store>): void {
  describe(`${name} conforms to IdempotencyStore`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withStoreOf(factory, fn);

    it('answers a second send with the same key with the first message, storing nothing', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice', 'bob']);
        const first = await send(store, c, 'alice', { clientMsgId: 'k1', content: 'one' });
        const again = await store.appendMessage(
          draft(c, 'alice', { clientMsgId: 'k1', content: 'other', status: 7 }),
        );
        assert.equal(again.kind, 'duplicate');
        if (again.kind === 'duplicate') assert.deepEqual(again.message, first);
        assert.deepEqual(ids(await store.messagesAfter(c, null, 10)), [first.MsgId]);
        assert.equal(await store.lastMsgId(c), first.MsgId);
      }));

    it('keeps keys apart per sender and per conversation, and sends without a key apart', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice', 'bob']);
        const d = await conversation(store, ['alice']);
        await send(store, c, 'alice', { clientMsgId: 'k' });
        await send(store, c, 'bob', { clientMsgId: 'k' });
        await send(store, d, 'alice', { clientMsgId: 'k' });
        await send(store, c, 'alice');
        await send(store, c, 'alice');
        assert.equal((await store.messagesAfter(c, null, 10)).length, 4);
      }));

    it('stores one message for ten concurrent appends with one key', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice']);
        await send(store, c, 'alice');
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.appendMessage(draft(c, 'alice', { clientMsgId: 'same', content: `${i}` })),
          ),
        );
        const appended = results.filter((r) => r.kind === 'appended');
        assert.equal(appended.length, 1);
        const id = appended[0]?.kind === 'appended' ? appended[0].message.MsgId : '';
        for (const r of results) if (r.kind !== 'appended') assert.equal(duplicateOf(r), id);
        assert.equal((await store.messagesAfter(c, null, 100)).length, 2);
      }));

    it('checks existence and membership before the key', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice', 'bob']);
        await send(store, c, 'alice', { clientMsgId: 'k' });
        assert.equal(await store.leave(c, 'alice'), true);
        const refused = await store.appendMessage(draft(c, 'alice', { clientMsgId: 'k' }));
        assert.deepEqual(refused, { kind: 'not-member' });
        const missing = await store.appendMessage(draft('nope', 'alice', { clientMsgId: 'k' }));
        assert.deepEqual(missing, { kind: 'not-found' });
      }));

    it('deduplicates for 24 hours from the first send, then stores the key anew', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice']);
        const first = await send(store, c, 'alice', { clientMsgId: 'k', sendTime: T0_US });
        const late = await store.appendMessage(
          draft(c, 'alice', { clientMsgId: 'k', sendTime: T0_US + TTL_US - 1000 }),
        );
        assert.equal(duplicateOf(late), first.MsgId);
        const second = await send(store, c, 'alice', {
          clientMsgId: 'k',
          sendTime: T0_US + TTL_US + 1000,
        });
        assert.notEqual(second.MsgId, first.MsgId);
        const third = await store.appendMessage(
          draft(c, 'alice', { clientMsgId: 'k', sendTime: T0_US + TTL_US + 5000 }),
        );
        assert.equal(duplicateOf(third), second.MsgId);
      }));

    it('deletes keys first used before the time; a deleted key no longer deduplicates', () =>
      withStore(async (store) => {
        const c = await conversation(store, ['alice']);
        assert.equal(await store.deleteExpiredClientMsgIds(T0_MS + 10_000), 0);
        await send(store, c, 'alice', { clientMsgId: 'old', sendTime: T0_US });
        await send(store, c, 'alice', { clientMsgId: 'new', sendTime: T0_US + 5_000_000 });
        assert.equal(await store.deleteExpiredClientMsgIds(T0_MS), 0, 'strictly before');
        assert.equal(await store.deleteExpiredClientMsgIds(T0_MS + 1), 1);
        await send(store, c, 'alice', { clientMsgId: 'old', sendTime: T0_US + 6_000_000 });
        const kept = await store.appendMessage(
          draft(c, 'alice', { clientMsgId: 'new', sendTime: T0_US + 7_000_000 }),
        );
        assert.equal(kept.kind, 'duplicate');
        assert.equal((await store.messagesAfter(c, null, 10)).length, 3);
      }));

    describe('appendUnchecked', () => {
      it('stores a message from a non-member without making it one', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const result = await store.appendUnchecked(draft(c, 'system', { content: 'notice' }));
          assert.equal(result.kind, 'appended');
          if (result.kind === 'appended') {
            assert.equal(result.message.FromSession, 'system');
            assert.equal(result.previousMsgId, null);
            assert.equal(await store.lastMsgId(c), result.message.MsgId);
          }
          assert.equal(await store.isMember(c, 'system'), false);
          const next = await send(store, c, 'alice');
          assert.ok(result.kind === 'appended' && next.MsgId > result.message.MsgId);
        }));

      it('answers not-found for an unknown conversation', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.appendUnchecked(draft('nope', 'system')), {
            kind: 'not-found',
          });
        }));

      it('shares keys with appendMessage for the same sender', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const first = await send(store, c, 'alice', { clientMsgId: 'k' });
          const again = await store.appendUnchecked(draft(c, 'alice', { clientMsgId: 'k' }));
          assert.equal(duplicateOf(again), first.MsgId);
          const bot = await store.appendUnchecked(draft(c, 'bot', { clientMsgId: 'k' }));
          assert.equal(bot.kind, 'appended');
          const botAgain = await store.appendUnchecked(draft(c, 'bot', { clientMsgId: 'k' }));
          assert.equal(duplicateOf(botAgain), bot.kind === 'appended' ? bot.message.MsgId : '');
        }));
    });
  });
}
