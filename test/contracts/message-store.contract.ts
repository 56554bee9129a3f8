import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Message } from '../../src/domain/message.js';
import { MsgIdAllocator, formatMsgId } from '../../src/domain/msg-id.js';
import type { AllocateMsgId, ConversationStore, MessageStore } from '../../src/store/store.js';
import {
  LOWEST_ID,
  assertStrictlyIncreasing,
  conversation,
  draft,
  ids,
  send,
  sorted,
  withStore as withStoreOf,
} from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';
import { messagePagesContract } from './message-pages.contract.js';

type Messages = ConversationStore & MessageStore;

/**
 * The conformance suite of `MessageStore` (conversations and members come from
 * `ConversationStore`), with its pages and ranges in `messagePagesContract`.
 */
export function messageStoreContract(name: string, factory: StoreFactory<Messages>): void {
  messagePagesContract(name, factory);
  describe(`${name} conforms to MessageStore`, () => {
    const withStore = (fn: (store: Messages) => Promise<void>, allocator?: AllocateMsgId) =>
      withStoreOf(factory, fn, allocator);

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

    describe('missedMessageRefs', () => {
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
        return { hers, c1, c2 };
      }
      const refsOf = (messages: readonly Message[]) =>
        messages.map((m) => ({ msgId: m.MsgId, conversationId: m.ConversationID }));

      it('returns what came after the id in every conversation of the session, ascending', () =>
        withStore(async (store) => {
          const { hers } = await setup(store);
          const cursor = hers[2]?.MsgId as string;
          const missed = await store.missedMessageRefs('alice', cursor, 1000);
          assert.deepEqual(missed, refsOf(hers.slice(3)));
          assertStrictlyIncreasing(missed.map((r) => r.msgId));
          assert.deepEqual(await store.missedMessageRefs('alice', LOWEST_ID, 1000), refsOf(hers));
          const last = hers.at(-1)?.MsgId as string;
          assert.deepEqual(await store.missedMessageRefs('alice', last, 1000), []);
        }));

      it('leaves out conversations the session left or was kicked from', () =>
        withStore(async (store) => {
          const { c1, c2 } = await setup(store);
          const missed = await store.missedMessageRefs('alice', LOWEST_ID, 1000);
          assert.equal(missed.length, 8);
          assert.ok(missed.every((r) => r.conversationId === c1 || r.conversationId === c2));
          assert.deepEqual(await store.missedMessageRefs('nobody', LOWEST_ID, 1000), []);
        }));

      it('keeps the newest `limit` messages when more exist, ascending, whichever conversation holds them', () =>
        withStore(async (store) => {
          const { hers, c1, c2 } = await setup(store);
          const after = hers[0]?.MsgId as string;
          assert.deepEqual(
            await store.missedMessageRefs('alice', after, 3),
            refsOf(hers.slice(-3)),
          );
          // Newer messages in the conversation alice joined first, then in her second one.
          const newer: Message[] = [];
          for (const c of [c1, c1, c2]) newer.push(await send(store, c, 'alice'));
          assert.deepEqual(
            await store.missedMessageRefs('alice', after, 4),
            refsOf([...hers.slice(-1), ...newer]),
          );
          assert.deepEqual(
            await store.missedMessageRefs('alice', after, 2),
            refsOf(newer.slice(-2)),
          );
        }));

      it('gives each conversation a run of its ids that rangeFromStart reads back whole', () =>
        withStore(async (store) => {
          const { hers, c1, c2 } = await setup(store);
          const missed = await store.missedMessageRefs('alice', hers[1]?.MsgId as string, 5);
          for (const c of [c1, c2]) {
            const run = missed.filter((r) => r.conversationId === c).map((r) => r.msgId);
            const read = await store.rangeFromStart(c, run[0] as string, run.at(-1) as string, 100);
            assert.deepEqual(ids(read), run, c);
          }
        }));
    });
  });
}
