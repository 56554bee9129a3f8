import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { UnavailableError } from '../../src/domain/errors.js';
import type { Message } from '../../src/domain/message.js';
import { MsgIdAllocator, formatMsgId, parseMsgId } from '../../src/domain/msg-id.js';
import type { AllocateMsgId, MessageDraft, Store } from '../../src/store/store.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** An id that sorts strictly between `id` and any later id of its allocator (same time and seq, next node). */
function justAfter(id: string): string {
  const parts = parseMsgId(id);
  return formatMsgId({ ...parts, node: parts.node + 1 });
}

/** Smaller than every id an allocator with a real clock produces. */
const LOWEST_ID = formatMsgId({ timeMs: 0, seq: 0, node: 0 });
/** Greater than every id an allocator with a real clock produces. */
const HIGHEST_ID = formatMsgId({ timeMs: 2 ** 45 - 1, seq: 0, node: 0 });

const ids = (messages: readonly Message[]): string[] => messages.map((m) => m.MsgId);

function assertStrictlyIncreasing(list: readonly string[]): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(
      (list[i - 1] as string) < (list[i] as string),
      `ids out of order at ${i}: ${list[i - 1]} then ${list[i]}`,
    );
  }
}

/**
 * The conformance suite of the `Store` seam: every implementation's test file runs it with a
 * factory that yields a fresh, empty store and a `cleanup` that disposes of it (also after the
 * store was closed). Only `Store` methods are used, so a new backend runs it unchanged.
 */
export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} conforms to the Store contract`, () => {
    const alloc = new MsgIdAllocator(1);
    const allocate: AllocateMsgId = (last) => alloc.next(last);

    async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    }

    /** A conversation with a fresh id and `sessions` as members. */
    async function conversation(store: Store, sessions: readonly string[], type = 0) {
      const id = randomUUID();
      await store.createConversation(id, type, sessions);
      return id;
    }

    function draft(
      conversationId: string,
      fromSession: string,
      over: Partial<MessageDraft> = {},
    ): MessageDraft {
      return {
        conversationId,
        fromSession,
        status: 0,
        type: 1,
        content: 'hi',
        sendTime: 1_698_119_710_632_897,
        ...over,
      };
    }

    /** Appends and returns the stored message, failing the test unless it was appended. */
    async function send(
      store: Store,
      conversationId: string,
      fromSession: string,
      over: Partial<MessageDraft> = {},
      allocateWith: AllocateMsgId = allocate,
    ): Promise<Message> {
      const result = await store.appendMessage(
        draft(conversationId, fromSession, over),
        allocateWith,
      );
      assert.equal(result.kind, 'appended');
      if (result.kind !== 'appended') throw new Error('unreachable');
      return result.message;
    }

    /**
     * Ten messages in conversation `c` (contents "0".."9"), interleaved with messages of another
     * conversation; `m` holds their ids ascending and `at(i)` the i-th.
     */
    async function tenMessages(store: Store) {
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

    const sorted = (list: readonly string[]): string[] => [...list].sort();

    describe('createConversation', () => {
      it('makes the given sessions members, ignoring duplicates', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'alice', 'bob']);
          assert.deepEqual(sorted(await store.members(c)), ['alice', 'bob']);
          assert.equal(await store.isMember(c, 'alice'), true);
          assert.equal(await store.isMember(c, 'bob'), true);
          assert.deepEqual(await store.joinedConversations('alice'), [c]);
        }));

      it('creates a conversation without members', () =>
        withStore(async (store) => {
          const c = await conversation(store, []);
          assert.notEqual(await store.getConversation(c), undefined);
          assert.deepEqual(await store.members(c), []);
        }));
    });

    describe('getConversation', () => {
      it('is undefined for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.getConversation(randomUUID()), undefined);
        }));

      it('reports the type, null last-message fields and false flags before any message', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice'], 7);
          assert.deepEqual(await store.getConversation(c), {
            ConversationID: c,
            LastMsgID: null,
            LastSendTime: null,
            IsDelete: false,
            ConversationType: 7,
            LastSendSession: null,
            IsArchive: false,
          });
        }));

      it('moves the last-message fields to each appended message', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob'], 3);
          const first = await send(store, c, 'alice', { sendTime: 1_000_000 });
          let detail = await store.getConversation(c);
          assert.equal(detail?.LastMsgID, first.MsgId);
          assert.equal(detail?.LastSendTime, 1_000_000);
          assert.equal(detail?.LastSendSession, 'alice');

          const second = await send(store, c, 'bob', { sendTime: 2_000_000 });
          detail = await store.getConversation(c);
          assert.deepEqual(detail, {
            ConversationID: c,
            LastMsgID: second.MsgId,
            LastSendTime: 2_000_000,
            IsDelete: false,
            ConversationType: 3,
            LastSendSession: 'bob',
            IsArchive: false,
          });
        }));

      it('reports IsArchive as set by setArchived', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          await store.setArchived([c], true);
          assert.equal((await store.getConversation(c))?.IsArchive, true);
          assert.equal((await store.getConversation(c))?.IsDelete, false);
        }));
    });

    describe('isMember', () => {
      it('is undefined for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.isMember(randomUUID(), 'alice'), undefined);
        }));

      it('is true for a member and false for a session that never joined', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.isMember(c, 'alice'), true);
          assert.equal(await store.isMember(c, 'mallory'), false);
        }));

      it('is false for a session that left or was kicked', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          await store.leave(c, 'bob');
          await store.kick(c, ['carol']);
          assert.equal(await store.isMember(c, 'alice'), true);
          assert.equal(await store.isMember(c, 'bob'), false);
          assert.equal(await store.isMember(c, 'carol'), false);
        }));
    });

    describe('joinedConversations', () => {
      it('lists conversations oldest membership first', () =>
        withStore(async (store) => {
          const c1 = await conversation(store, ['alice']);
          const c2 = await conversation(store, ['bob']);
          const c3 = await conversation(store, ['alice', 'bob']);
          assert.equal(await store.joinBySelf(c2, 'alice'), 'joined');
          assert.deepEqual(await store.joinedConversations('alice'), [c1, c3, c2]);
          assert.deepEqual(await store.joinedConversations('bob'), [c2, c3]);
        }));

      it('leaves out conversations the session left or was kicked from', () =>
        withStore(async (store) => {
          const c1 = await conversation(store, ['alice']);
          const c2 = await conversation(store, ['alice']);
          const c3 = await conversation(store, ['alice']);
          await store.leave(c1, 'alice');
          await store.kick(c3, ['alice']);
          assert.deepEqual(await store.joinedConversations('alice'), [c2]);
        }));

      it('is empty for a session in no conversation', () =>
        withStore(async (store) => {
          await conversation(store, ['alice']);
          assert.deepEqual(await store.joinedConversations('nobody'), []);
        }));
    });

    describe('members', () => {
      it('lists current members only', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol', 'dave']);
          await store.leave(c, 'bob');
          await store.kick(c, ['carol']);
          await store.joinByInner(c, ['erin']);
          assert.deepEqual(sorted(await store.members(c)), ['alice', 'dave', 'erin']);
        }));

      it('is empty for an unknown conversation', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.members(randomUUID()), []);
        }));
    });

    describe('joinBySelf', () => {
      it('joins a non-member and is idempotent', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'joined');
          assert.equal(await store.joinBySelf(c, 'bob'), 'joined');
          assert.equal(await store.joinBySelf(c, 'alice'), 'joined');
          assert.deepEqual(sorted(await store.members(c)), ['alice', 'bob']);
          assert.deepEqual(await store.joinedConversations('bob'), [c]);
        }));

      it('lets a session that left join again', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          await store.leave(c, 'alice');
          assert.equal(await store.joinBySelf(c, 'alice'), 'joined');
          assert.equal(await store.isMember(c, 'alice'), true);
        }));

      it('refuses a kicked session with "kicked"', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.kick(c, ['bob']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
          assert.equal(await store.isMember(c, 'bob'), false);
          assert.deepEqual(await store.members(c), ['alice']);
        }));

      it('answers "not-found" for an unknown conversation', () =>
        withStore(async (store) => {
          const c = randomUUID();
          assert.equal(await store.joinBySelf(c, 'alice'), 'not-found');
          assert.equal(await store.getConversation(c), undefined);
          assert.deepEqual(await store.joinedConversations('alice'), []);
        }));
    });

    describe('joinByInner', () => {
      it('adds every session, ignoring duplicates and existing members', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.joinByInner(c, ['alice', 'bob', 'carol', 'bob']), true);
          assert.deepEqual(sorted(await store.members(c)), ['alice', 'bob', 'carol']);
        }));

      it('re-admits a kicked session, which may then leave and join by itself again', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.kick(c, ['bob']);
          assert.equal(await store.joinByInner(c, ['bob']), true);
          assert.equal(await store.isMember(c, 'bob'), true);
          await store.leave(c, 'bob');
          assert.equal(await store.joinBySelf(c, 'bob'), 'joined');
        }));

      it('is false for an unknown conversation', () =>
        withStore(async (store) => {
          const c = randomUUID();
          assert.equal(await store.joinByInner(c, ['alice']), false);
          assert.deepEqual(await store.joinedConversations('alice'), []);
        }));
    });

    describe('leave', () => {
      it('removes a member', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          assert.equal(await store.leave(c, 'bob'), true);
          assert.deepEqual(await store.members(c), ['alice']);
        }));

      it('is a successful no-op for a non-member', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.leave(c, 'mallory'), true);
          assert.deepEqual(await store.members(c), ['alice']);
          assert.equal(await store.isMember(c, 'mallory'), false);
          assert.equal(await store.joinBySelf(c, 'mallory'), 'joined');
        }));

      it('does not lift a kick', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.kick(c, ['bob']);
          assert.equal(await store.leave(c, 'bob'), true);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
        }));

      it('is false for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.leave(randomUUID(), 'alice'), false);
        }));
    });

    describe('kick', () => {
      it('removes members and bars them from joining by themselves', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          assert.equal(await store.kick(c, ['bob', 'carol']), true);
          assert.deepEqual(await store.members(c), ['alice']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
          assert.equal(await store.joinBySelf(c, 'carol'), 'kicked');
          assert.deepEqual(await store.joinedConversations('bob'), []);
        }));

      it('bars a session that was never a member from joining by itself', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.kick(c, ['mallory']), true);
          assert.equal(await store.isMember(c, 'mallory'), false);
          assert.equal(await store.joinBySelf(c, 'mallory'), 'kicked');
          assert.deepEqual(await store.members(c), ['alice']);
        }));

      it('bars a session that had left from joining by itself', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.leave(c, 'bob');
          await store.kick(c, ['bob']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
        }));

      it('is false for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.kick(randomUUID(), ['alice']), false);
        }));
    });

    describe('setArchived', () => {
      it('sets and clears the flag on every id, returning no missing ids', () =>
        withStore(async (store) => {
          const c1 = await conversation(store, ['alice']);
          const c2 = await conversation(store, ['bob']);
          const c3 = await conversation(store, ['carol']);
          assert.deepEqual(await store.setArchived([c1, c2], true), []);
          assert.equal((await store.getConversation(c1))?.IsArchive, true);
          assert.equal((await store.getConversation(c2))?.IsArchive, true);
          assert.equal((await store.getConversation(c3))?.IsArchive, false);
          assert.deepEqual(await store.setArchived([c2], false), []);
          assert.equal((await store.getConversation(c1))?.IsArchive, true);
          assert.equal((await store.getConversation(c2))?.IsArchive, false);
        }));

      it('changes nothing and returns the missing ids when any id does not exist', () =>
        withStore(async (store) => {
          const c1 = await conversation(store, ['alice']);
          const c2 = await conversation(store, ['bob']);
          await store.setArchived([c2], true);
          const m1 = randomUUID();
          const m2 = randomUUID();
          assert.deepEqual(sorted(await store.setArchived([c1, m1, m2], true)), sorted([m1, m2]));
          assert.equal((await store.getConversation(c1))?.IsArchive, false);
          assert.deepEqual(await store.setArchived([m1, c2], false), [m1]);
          assert.equal((await store.getConversation(c2))?.IsArchive, true);
        }));

      it('returns no missing ids for an empty list', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.setArchived([], true), []);
        }));
    });

    describe('appendMessage', () => {
      it('answers "not-found" for an unknown conversation', () =>
        withStore(async (store) => {
          const c = randomUUID();
          const result = await store.appendMessage(draft(c, 'alice'), allocate);
          assert.deepEqual(result, { kind: 'not-found' });
          assert.equal(await store.getConversation(c), undefined);
        }));

      it('answers "not-member" for a session that never joined, left or was kicked, storing nothing', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          await store.leave(c, 'bob');
          await store.kick(c, ['carol']);
          for (const session of ['mallory', 'bob', 'carol']) {
            const result = await store.appendMessage(draft(c, session), allocate);
            assert.deepEqual(result, { kind: 'not-member' }, session);
          }
          assert.equal(await store.lastMsgId(c), null);
          assert.deepEqual(await store.history(c, 'after', null, 10), []);
          assert.equal((await store.getConversation(c))?.LastMsgID, null);
        }));

      it('passes the previous last id to the allocator, null for the first message', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const seen: (string | null)[] = [];
          const given: string[] = [];
          const recording: AllocateMsgId = (last) => {
            seen.push(last);
            const id = alloc.next(last);
            given.push(id);
            return id;
          };
          const r1 = await store.appendMessage(draft(c, 'alice'), recording);
          const r2 = await store.appendMessage(draft(c, 'alice'), recording);
          const r3 = await store.appendMessage(draft(c, 'alice'), recording);
          assert.deepEqual(seen, [null, given[0], given[1]]);
          assert.deepEqual(
            [r1, r2, r3].map((r) => (r.kind === 'appended' ? r.message.MsgId : r.kind)),
            given,
          );
        }));

      it('keeps ids rising after an allocator id far in the future', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const future = formatMsgId({ timeMs: Date.now() + 86_400_000, seq: 9, node: 7 });
          const first = await send(store, c, 'alice', {}, () => future);
          assert.equal(first.MsgId, future);
          const own = new MsgIdAllocator(2);
          const next = await send(store, c, 'alice', {}, (last) => own.next(last));
          assert.ok(next.MsgId > future, `${next.MsgId} should follow ${future}`);
          assert.equal(await store.lastMsgId(c), next.MsgId);
        }));

      it('returns the stored message with every field, and reads it back unchanged', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          const d = draft(c, 'alice', {
            status: -2_147_483_648,
            type: 2_147_483_647,
            content: 'héllo 👋 "quoted"\n<b>',
            sendTime: 1_698_119_710_632_897,
          });
          let allocated = '';
          const result = await store.appendMessage(d, (last) => (allocated = alloc.next(last)));
          const expected: Message = {
            MsgId: allocated,
            ConversationID: c,
            FromSession: 'alice',
            SendTime: 1_698_119_710_632_897,
            Status: -2_147_483_648,
            Type: 2_147_483_647,
            Content: 'héllo 👋 "quoted"\n<b>',
          };
          assert.deepEqual(result, { kind: 'appended', message: expected, previousMsgId: null });
          const second = await store.appendMessage(draft(c, 'alice'), (last) => alloc.next(last));
          assert.equal(second.kind === 'appended' && second.previousMsgId, allocated);
          assert.deepEqual((await store.history(c, 'after', null, 10))[0], expected);
          assert.deepEqual(await store.range(c, allocated, allocated, 10, false), [expected]);
        }));

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
              store.appendMessage(
                draft(c, i % 2 === 0 ? 'alice' : 'bob', { content: `m${i}` }),
                allocate,
              ),
            ),
          );
          const appended = results.map((r) => {
            assert.equal(r.kind, 'appended');
            return r.kind === 'appended' ? r.message : undefined;
          });
          const returnedIds = appended.map((m) => m?.MsgId ?? '');
          assert.equal(new Set(returnedIds).size, 200);

          const history = await store.history(c, 'after', null, 1000);
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

    describe('history', () => {
      it('before null reads the newest messages, ascending', () =>
        withStore(async (store) => {
          const { c, m } = await tenMessages(store);
          assert.deepEqual(ids(await store.history(c, 'before', null, 3)), m.slice(7));
          assert.deepEqual(ids(await store.history(c, 'before', null, 30)), m);
        }));

      it('after null reads the oldest messages, ascending', () =>
        withStore(async (store) => {
          const { c, m } = await tenMessages(store);
          assert.deepEqual(ids(await store.history(c, 'after', null, 3)), m.slice(0, 3));
          assert.deepEqual(ids(await store.history(c, 'after', null, 30)), m);
        }));

      it('before an id reads the nearest messages strictly before it, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.history(c, 'before', at(5), 3)), m.slice(2, 5));
          assert.deepEqual(ids(await store.history(c, 'before', at(2), 30)), m.slice(0, 2));
          assert.deepEqual(await store.history(c, 'before', at(0), 30), []);
        }));

      it('after an id reads the nearest messages strictly after it, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.history(c, 'after', at(5), 3)), m.slice(6, 9));
          assert.deepEqual(ids(await store.history(c, 'after', at(7), 30)), m.slice(8));
          assert.deepEqual(await store.history(c, 'after', at(9), 30), []);
        }));

      it('accepts an id that does not exist', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          const gap = justAfter(at(4));
          assert.ok(at(4) < gap && gap < at(5));
          assert.deepEqual(ids(await store.history(c, 'before', gap, 3)), m.slice(2, 5));
          assert.deepEqual(ids(await store.history(c, 'after', gap, 3)), m.slice(5, 8));
          assert.deepEqual(ids(await store.history(c, 'after', LOWEST_ID, 2)), m.slice(0, 2));
          assert.deepEqual(ids(await store.history(c, 'before', HIGHEST_ID, 2)), m.slice(8));
          assert.deepEqual(await store.history(c, 'before', LOWEST_ID, 30), []);
          assert.deepEqual(await store.history(c, 'after', HIGHEST_ID, 30), []);
        }));

      it('reads only the given conversation, and nothing for an unknown one', () =>
        withStore(async (store) => {
          const { c } = await tenMessages(store);
          const page = await store.history(c, 'after', null, 100);
          assert.equal(page.length, 10);
          assert.ok(page.every((msg) => msg.ConversationID === c));
          assert.deepEqual(
            page.map((msg) => msg.Content),
            ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
          );
          assert.deepEqual(await store.history(randomUUID(), 'before', null, 30), []);
        }));
    });

    describe('range', () => {
      it('includes both ends, ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.range(c, at(2), at(6), 100, false)), m.slice(2, 7));
          assert.deepEqual(ids(await store.range(c, at(2), at(6), 100, true)), m.slice(2, 7));
          assert.deepEqual(ids(await store.range(c, at(4), at(4), 100, false)), [at(4)]);
        }));

      it('keeps the messages nearest the start when limited and not fromEnd', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.range(c, at(2), at(8), 3, false)), m.slice(2, 5));
        }));

      it('keeps the messages nearest the end when limited and fromEnd, still ascending', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(ids(await store.range(c, at(2), at(8), 3, true)), m.slice(6, 9));
        }));

      it('accepts bounds that do not exist', () =>
        withStore(async (store) => {
          const { c, m, at } = await tenMessages(store);
          assert.deepEqual(
            ids(await store.range(c, justAfter(at(1)), justAfter(at(4)), 100, false)),
            m.slice(2, 5),
          );
          assert.deepEqual(ids(await store.range(c, LOWEST_ID, HIGHEST_ID, 1000, false)), m);
          assert.deepEqual(ids(await store.range(c, LOWEST_ID, HIGHEST_ID, 2, true)), m.slice(8));
        }));

      it('is empty when the start is after the end, or no message lies between', () =>
        withStore(async (store) => {
          const { c, at } = await tenMessages(store);
          assert.deepEqual(await store.range(c, at(6), at(2), 100, false), []);
          assert.deepEqual(await store.range(c, justAfter(at(3)), justAfter(at(3)), 100, true), []);
        }));

      it('reads only the given conversation', () =>
        withStore(async (store) => {
          const { c } = await tenMessages(store);
          const all = await store.range(c, LOWEST_ID, HIGHEST_ID, 1000, false);
          assert.equal(all.length, 10);
          assert.ok(all.every((msg) => msg.ConversationID === c));
        }));
    });

    describe('missedMessages', () => {
      /** alice is in c1 and c2, left c3 and was kicked from c4; c5 is bob's alone. */
      async function setup(store: Store) {
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

    describe('poll cursors', () => {
      it('keeps the newest cursor per session and platform, and only while it is fresh', () =>
        withStore(async (store) => {
          const [a, b] = [alloc.next(null), alloc.next(null)];
          assert.equal(await store.pollCursor('alice', 1, 0), null);
          await store.savePollCursor('alice', 1, a, 1_000);
          await store.savePollCursor('alice', 2, b, 1_000);
          assert.equal(await store.pollCursor('alice', 1, 1_000), a);
          assert.equal(await store.pollCursor('alice', 1, 1_001), null, 'older than sinceMs');
          await store.savePollCursor('alice', 1, b, 5_000);
          assert.equal(await store.pollCursor('alice', 1, 2_000), b);
          assert.equal(await store.pollCursor('alice', 2, 0), b);
          assert.equal(await store.pollCursor('bob', 1, 0), null);
        }));
    });

    describe('ping and close', () => {
      it('ping resolves while open and rejects with UnavailableError after close', () =>
        withStore(async (store) => {
          assert.equal(await store.ping(), undefined);
          await store.close();
          await assert.rejects(store.ping(), UnavailableError);
        }));

      it('rejects reads and writes with UnavailableError after close', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          await store.close();
          await assert.rejects(store.getConversation(c), UnavailableError);
          await assert.rejects(store.appendMessage(draft(c, 'alice'), allocate), UnavailableError);
        }));
    });
  });
}
