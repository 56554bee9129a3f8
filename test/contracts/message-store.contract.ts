import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Message } from '../../src/domain/message.js';
import { MsgIdAllocator, formatMsgId } from '../../src/domain/msg-id.js';
import type { AllocateMsgId, ConversationStore, MessageStore } from '../../src/store/store.js';
import {
  HIGHEST_ID,
  LOWEST_ID,
  assertStrictlyIncreasing,
  conversation,
  draft,
  ids,
  justAfter,
  send,
  sorted,
  withStore as withStoreOf,
} from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

type Messages = ConversationStore & MessageStore;

/** The conformance suite of `MessageStore` (conversations and members come from `ConversationStore`). */
export function messageStoreContract(name: string, factory: StoreFactory<Messages>): void {
  describe(`${name} conforms to MessageStore`, () => {
    const withStore = (fn: (store: Messages) => Promise<void>, allocator?: AllocateMsgId) =>
      withStoreOf(factory, fn, allocator);

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

    describe('appendMessage', () => {
      it('answers "not-found" for an unknown conversation', () =>
        withStore(async (store) => {
          const c = randomUUID();
          const result = await store.appendMessage(draft(c, 'alice'));
          assert.deepEqual(result, { kind: 'not-found' });
          assert.equal(await store.getConversation(c), undefined);
        }));

      it('answers "not-member" for a session that never joined, left or was kicked, storing nothing', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          await store.leave(c, 'bob');
          await store.kick(c, ['carol']);
          for (const session of ['mallory', 'bob', 'carol']) {
            const result = await store.appendMessage(draft(c, session));
            assert.deepEqual(result, { kind: 'not-member' }, session);
          }
          assert.equal(await store.lastMsgId(c), null);
          assert.deepEqual(await store.messagesAfter(c, null, 10), []);
          assert.equal((await store.getConversation(c))?.LastMsgID, null);
        }));

      it('passes the previous last id to the allocator, null for the first message', () => {
        const alloc = new MsgIdAllocator(1);
        const seen: (string | null)[] = [];
        const given: string[] = [];
        const recording: AllocateMsgId = (last) => {
          seen.push(last);
          const id = alloc.next(last);
          given.push(id);
          return id;
        };
        return withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const r1 = await store.appendMessage(draft(c, 'alice'));
          const r2 = await store.appendMessage(draft(c, 'alice'));
          const r3 = await store.appendMessage(draft(c, 'alice'));
          assert.deepEqual(seen, [null, given[0], given[1]]);
          assert.deepEqual(
            [r1, r2, r3].map((r) => (r.kind === 'appended' ? r.message.MsgId : r.kind)),
            given,
          );
        }, recording);
      });

      it('keeps ids rising after an allocator id far in the future', () => {
        const future = formatMsgId({ timeMs: Date.now() + 86_400_000, seq: 9, node: 7 });
        const own = new MsgIdAllocator(2);
        // The first id comes from a node whose clock runs a day ahead; the rest from this one.
        let calls = 0;
        const skewed: AllocateMsgId = (last) => (calls++ === 0 ? future : own.next(last));
        return withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const first = await send(store, c, 'alice');
          assert.equal(first.MsgId, future);
          const next = await send(store, c, 'alice');
          assert.ok(next.MsgId > future, `${next.MsgId} should follow ${future}`);
          assert.equal(await store.lastMsgId(c), next.MsgId);
        }, skewed);
      });

      it('returns the stored message with every field, and reads it back unchanged', () => {
        const alloc = new MsgIdAllocator(1);
        const allocated: string[] = [];
        const recording: AllocateMsgId = (last) => {
          allocated.push(alloc.next(last));
          return allocated.at(-1) as string;
        };
        return withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const d = draft(c, 'alice', {
            status: -2_147_483_648,
            type: 2_147_483_647,
            content: 'héllo 👋 "quoted"\n<b>',
            sendTime: 1_698_119_710_632_897,
          });
          const result = await store.appendMessage(d);
          const expected: Message = {
            MsgId: allocated[0] as string,
            ConversationID: c,
            FromSession: 'alice',
            SendTime: 1_698_119_710_632_897,
            Status: -2_147_483_648,
            Type: 2_147_483_647,
            Content: 'héllo 👋 "quoted"\n<b>',
          };
          assert.deepEqual(result, { kind: 'appended', message: expected, previousMsgId: null });
          const second = await store.appendMessage(draft(c, 'alice'));
          assert.equal(second.kind === 'appended' && second.previousMsgId, expected.MsgId);
          assert.deepEqual((await store.messagesAfter(c, null, 10))[0], expected);
          assert.deepEqual(await store.rangeFromStart(c, expected.MsgId, expected.MsgId, 10), [
            expected,
          ]);
          assert.deepEqual(await store.rangeFromEnd(c, expected.MsgId, expected.MsgId, 10), [
            expected,
          ]);
        }, recording);
      });

      it('accepts a member who joined after the conversation was created', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          await store.joinBySelf(c, 'bob');
          const m = await send(store, c, 'bob');
          assert.equal(m.FromSession, 'bob');
          assert.equal((await store.getConversation(c))?.LastSendSession, 'bob');
        }));

      it('gives 200 concurrent appends strictly increasing ids, in history order, none missing', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              store.appendMessage(draft(c, i % 2 === 0 ? 'alice' : 'bob', { content: `m${i}` })),
            ),
          );
          const appended = results.map((r) => {
            assert.equal(r.kind, 'appended');
            return r.kind === 'appended' ? r.message : undefined;
          });
          const returnedIds = appended.map((m) => m?.MsgId ?? '');
          assert.equal(new Set(returnedIds).size, 200);

          const history = await store.messagesAfter(c, null, 1000);
          assert.equal(history.length, 200);
          assertStrictlyIncreasing(ids(history));
          assert.deepEqual(ids(history), sorted(returnedIds));
          assert.deepEqual(
            sorted(history.map((m) => m.Content)),
            sorted(Array.from({ length: 200 }, (_, i) => `m${i}`)),
          );
          assert.equal(await store.lastMsgId(c), ids(history).at(-1));
          assert.equal((await store.getConversation(c))?.LastMsgID, ids(history).at(-1));
        }));
    });

    describe('lastMsgId', () => {
      it('is null for a conversation without messages', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.lastMsgId(c), null);
        }));

      it('is the newest id of that conversation only', () =>
        withStore(async (store) => {
          const c1 = await conversation(store, ['alice']);
          const c2 = await conversation(store, ['alice']);
          await send(store, c1, 'alice');
          const newest = await send(store, c1, 'alice');
          const other = await send(store, c2, 'alice');
          assert.equal(await store.lastMsgId(c1), newest.MsgId);
          assert.equal(await store.lastMsgId(c2), other.MsgId);
        }));
    });

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

    describe('missedMessages', () => {
      /** alice is in c1 and c2, left c3 and was kicked from c4; c5 is bob's alone. */
      async function setup(store: Messages) {
        const c1 = await conversation(store, ['alice', 'bob']);
        const c2 = await conversation(store, ['alice']);
        const c3 = await conversation(store, ['alice', 'bob']);
        const c4 = await conversation(store, ['alice', 'bob']);
        const c5 = await conversation(store, ['bob']);
        await store.leave(c3, 'alice');
        await store.kick(c4, ['alice']);
        const hers: Message[] = [];
        for (let i = 0; i < 4; i++) {
          hers.push(await send(store, c1, 'bob', { content: `c1-${i}` }));
          await send(store, c3, 'bob');
          hers.push(await send(store, c2, 'alice', { content: `c2-${i}` }));
          await send(store, c4, 'bob');
          await send(store, c5, 'bob');
        }
        return { hers: ids(hers), c1, c2 };
      }

      it('returns what came after the id in every conversation of the session, ascending', () =>
        withStore(async (store) => {
          const { hers } = await setup(store);
          const cursor = hers[2] as string;
          const missed = await store.missedMessages('alice', cursor, 1000);
          assert.deepEqual(ids(missed), hers.slice(3));
          assertStrictlyIncreasing(ids(missed));
          assert.deepEqual(ids(await store.missedMessages('alice', LOWEST_ID, 1000)), hers);
          assert.deepEqual(await store.missedMessages('alice', hers.at(-1) as string, 1000), []);
        }));

      it('leaves out conversations the session left or was kicked from', () =>
        withStore(async (store) => {
          const { c1, c2 } = await setup(store);
          const missed = await store.missedMessages('alice', LOWEST_ID, 1000);
          assert.equal(missed.length, 8);
          assert.ok(missed.every((msg) => msg.ConversationID === c1 || msg.ConversationID === c2));
          assert.deepEqual(await store.missedMessages('nobody', LOWEST_ID, 1000), []);
        }));

      it('keeps the newest `limit` messages when more exist, ascending', () =>
        withStore(async (store) => {
          const { hers } = await setup(store);
          const missed = await store.missedMessages('alice', hers[0] as string, 3);
          assert.deepEqual(ids(missed), hers.slice(-3));
        }));
    });
  });
}
