import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Message } from '../../src/domain/message.js';
import type { ConversationStore, MessageStore } from '../../src/store/store.js';
import {
  HIGHEST_ID,
  LOWEST_ID,
  conversation,
  ids,
  justAfter,
  send,
  withStore as withStoreOf,
} from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

type Messages = ConversationStore & MessageStore;

/** The part of the `MessageStore` suite that reads pages and ranges of one conversation. */
export function messagePagesContract(name: string, factory: StoreFactory<Messages>): void {
  describe(`${name} conforms to MessageStore (pages and ranges)`, () => {
    const withStore = (fn: (store: Messages) => Promise<void>) => withStoreOf(factory, fn);

    /**
     * Ten messages in conversation `c` (contents "0".."9"), interleaved with messages of another
     * conversation; `m` holds their ids ascending and `at(i)` the i-th.
     */
    async function tenMessages(store: Messages) {
      const c = await conversation(store, ['alice']);
      const noise = await conversation(store, ['alice']);
      const messages: Message[] = [];
      for (let i = 0; i < 10; i++) {
        messages.push(await send(store, c, 'alice', { content: String(i) }));
        await send(store, noise, 'alice', { content: `noise ${i}` });
      }
      const m = ids(messages);
      return { c, m, at: (i: number): string => m[i] as string };
    }

    describe('messagesBefore and messagesAfter', () => {
      it('before null reads the newest messages, ascending', () =>
        withStore(async (store) => {
          const { c, m } = await tenMessages(store);
          assert.deepEqual(ids(await store.messagesBefore(c, null, 3)), m.slice(7));
          assert.deepEqual(ids(await store.messagesBefore(c, null, 30)), m);
        }));

      it('after null reads the oldest messages, ascending', () =>
        withStore(async (store) => {
          const { c, m } = await tenMessages(store);
          assert.deepEqual(ids(await store.messagesAfter(c, null, 3)), m.slice(0, 3));
          assert.deepEqual(ids(await store.messagesAfter(c, null, 30)), m);
        }));

      it('before an id reads the nearest messages strictly before it, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.messagesBefore(c, at(5), 3)), m.slice(2, 5));
          assert.deepEqual(ids(await store.messagesBefore(c, at(2), 30)), m.slice(0, 2));
          assert.deepEqual(await store.messagesBefore(c, at(0), 30), []);
        }));

      it('after an id reads the nearest messages strictly after it, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.messagesAfter(c, at(5), 3)), m.slice(6, 9));
          assert.deepEqual(ids(await store.messagesAfter(c, at(7), 30)), m.slice(8));
          assert.deepEqual(await store.messagesAfter(c, at(9), 30), []);
        }));

      it('accepts an id that does not exist', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          const gap = justAfter(at(4));
          assert.ok(at(4) < gap && gap < at(5));
          assert.deepEqual(ids(await store.messagesBefore(c, gap, 3)), m.slice(2, 5));
          assert.deepEqual(ids(await store.messagesAfter(c, gap, 3)), m.slice(5, 8));
          assert.deepEqual(ids(await store.messagesAfter(c, LOWEST_ID, 2)), m.slice(0, 2));
          assert.deepEqual(ids(await store.messagesBefore(c, HIGHEST_ID, 2)), m.slice(8));
          assert.deepEqual(await store.messagesBefore(c, LOWEST_ID, 30), []);
          assert.deepEqual(await store.messagesAfter(c, HIGHEST_ID, 30), []);
        }));

      it('reads only the given conversation, and nothing for an unknown one', () =>
        withStore(async (store) => {
          const { c } = await tenMessages(store);
          const page = await store.messagesAfter(c, null, 100);
          assert.equal(page.length, 10);
          assert.ok(page.every((msg) => msg.ConversationID === c));
          assert.deepEqual(
            page.map((msg) => msg.Content),
            ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
          );
          assert.deepEqual(await store.messagesBefore(randomUUID(), null, 30), []);
        }));

      it('reads nothing from a conversation without messages, or an unknown one, from either side', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const unknown = randomUUID();
          for (const id of [c, unknown]) {
            assert.deepEqual(await store.messagesBefore(id, null, 30), []);
            assert.deepEqual(await store.messagesAfter(id, null, 30), []);
            assert.deepEqual(await store.messagesBefore(id, HIGHEST_ID, 30), []);
            assert.deepEqual(await store.messagesAfter(id, LOWEST_ID, 30), []);
          }
        }));

      it('reads a single message from either side when the limit is 1', () =>
        withStore(async (store) => {
          const { c, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.messagesBefore(c, null, 1)), [at(9)]);
          assert.deepEqual(ids(await store.messagesAfter(c, null, 1)), [at(0)]);
          assert.deepEqual(ids(await store.messagesBefore(c, at(5), 1)), [at(4)]);
          assert.deepEqual(ids(await store.messagesAfter(c, at(5), 1)), [at(6)]);
        }));
    });

    describe('rangeFromStart and rangeFromEnd', () => {
      it('includes both ends, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.rangeFromStart(c, at(2), at(6), 100)), m.slice(2, 7));
          assert.deepEqual(ids(await store.rangeFromEnd(c, at(2), at(6), 100)), m.slice(2, 7));
          assert.deepEqual(ids(await store.rangeFromStart(c, at(4), at(4), 100)), [at(4)]);
        }));

      it('rangeFromStart keeps the messages nearest the start when limited', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.rangeFromStart(c, at(2), at(8), 3)), m.slice(2, 5));
        }));

      it('rangeFromEnd keeps the messages nearest the end when limited, still ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.rangeFromEnd(c, at(2), at(8), 3)), m.slice(6, 9));
        }));

      it('accepts bounds that do not exist', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(
            ids(await store.rangeFromStart(c, justAfter(at(1)), justAfter(at(4)), 100)),
            m.slice(2, 5),
          );
          assert.deepEqual(ids(await store.rangeFromStart(c, LOWEST_ID, HIGHEST_ID, 1000)), m);
          assert.deepEqual(ids(await store.rangeFromEnd(c, LOWEST_ID, HIGHEST_ID, 2)), m.slice(8));
        }));

      it('is empty when the start is after the end, or no message lies between', () =>
        withStore(async (store) => {
          const { c, at } = await tenMessages(store);
          assert.deepEqual(await store.rangeFromStart(c, at(6), at(2), 100), []);
          assert.deepEqual(
            await store.rangeFromEnd(c, justAfter(at(3)), justAfter(at(3)), 100),
            [],
          );
        }));

      it('reads only the given conversation', () =>
        withStore(async (store) => {
          const { c } = await tenMessages(store);
          const all = await store.rangeFromStart(c, LOWEST_ID, HIGHEST_ID, 1000);
          assert.equal(all.length, 10);
          assert.ok(all.every((msg) => msg.ConversationID === c));
          const fromEnd = await store.rangeFromEnd(c, LOWEST_ID, HIGHEST_ID, 1000);
          assert.deepEqual(fromEnd, all);
          assert.deepEqual(await store.rangeFromEnd(randomUUID(), LOWEST_ID, HIGHEST_ID, 10), []);
        }));

      it('reads the same messages from either end when the limit covers the range', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.rangeFromStart(c, at(3), at(7), 5)), m.slice(3, 8));
          assert.deepEqual(ids(await store.rangeFromEnd(c, at(3), at(7), 5)), m.slice(3, 8));
          assert.deepEqual(ids(await store.rangeFromEnd(c, at(4), at(4), 1)), [at(4)]);
          assert.deepEqual(await store.rangeFromEnd(c, at(6), at(2), 100), []);
        }));
    });
  });
}
