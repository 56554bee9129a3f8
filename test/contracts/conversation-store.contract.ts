import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ConversationStore, MessageStore } from '../../src/store/store.js';
import { conversation, send, sorted, withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

/** Every session the suite uses: the current members of a conversation are found among them. */
const SESSIONS = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory'];

/** The current members of `conversationId` (among `SESSIONS`), sorted. */
async function members(store: ConversationStore, conversationId: string): Promise<string[]> {
  const member = await Promise.all(SESSIONS.map((s) => store.isMember(conversationId, s)));
  return sorted(SESSIONS.filter((_, i) => member[i] === true));
}

/**
 * The conformance suite of `ConversationStore`. The store must also append messages (the
 * last-message fields of a conversation follow its messages).
 */
export function conversationStoreContract(
  name: string,
  factory: StoreFactory<ConversationStore & MessageStore>,
): void {
  describe(`${name} conforms to ConversationStore`, () => {
    const withStore = (fn: (store: ConversationStore & MessageStore) => Promise<void>) =>
      withStoreOf(factory, fn);

    describe('createConversation', () => {
      it('makes the given sessions members, ignoring duplicates', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'alice', 'bob']);
          assert.deepEqual(await members(store, c), ['alice', 'bob']);
          assert.equal(await store.isMember(c, 'alice'), true);
          assert.equal(await store.isMember(c, 'bob'), true);
          assert.deepEqual(await store.joinedConversations('alice'), [c]);
        }));

      it('creates a conversation without members', () =>
        withStore(async (store) => {
          const c = await conversation(store, []);
          assert.notEqual(await store.getConversation(c), undefined);
          assert.deepEqual(await members(store, c), []);
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
          assert.deepEqual(await members(store, c), ['alice', 'dave', 'erin']);
        }));

      it('is empty for an unknown conversation', () =>
        withStore(async (store) => {
          assert.deepEqual(await members(store, randomUUID()), []);
        }));
    });

    describe('joinBySelf', () => {
      it('joins a non-member and is idempotent, saying when it already was one', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'joined');
          assert.equal(await store.joinBySelf(c, 'bob'), 'already-member');
          assert.equal(await store.joinBySelf(c, 'alice'), 'already-member');
          assert.deepEqual(await members(store, c), ['alice', 'bob']);
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
          assert.deepEqual(await members(store, c), ['alice']);
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
      it('adds every session, ignoring duplicates and existing members, and names those added', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.deepEqual(await store.joinByInner(c, ['carol', 'alice', 'bob', 'bob']), [
            'carol',
            'bob',
          ]);
          assert.deepEqual(await store.joinByInner(c, ['bob']), []);
          assert.deepEqual(await members(store, c), ['alice', 'bob', 'carol']);
        }));

      it('re-admits a kicked session, which may then leave and join by itself again', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.kick(c, ['bob']);
          assert.deepEqual(await store.joinByInner(c, ['bob']), ['bob']);
          assert.equal(await store.isMember(c, 'bob'), true);
          await store.leave(c, 'bob');
          assert.equal(await store.joinBySelf(c, 'bob'), 'joined');
        }));

      it('is undefined for an unknown conversation', () =>
        withStore(async (store) => {
          const c = randomUUID();
          assert.equal(await store.joinByInner(c, ['alice']), undefined);
          assert.deepEqual(await store.joinedConversations('alice'), []);
        }));
    });

    describe('leave', () => {
      it('removes a member, answering true', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          assert.equal(await store.leave(c, 'bob'), true);
          assert.deepEqual(await members(store, c), ['alice']);
        }));

      it('is a no-op for a non-member, answering false', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.equal(await store.leave(c, 'mallory'), false);
          assert.deepEqual(await members(store, c), ['alice']);
          assert.equal(await store.isMember(c, 'mallory'), false);
          assert.equal(await store.joinBySelf(c, 'mallory'), 'joined');
        }));

      it('does not lift a kick', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.kick(c, ['bob']);
          assert.equal(await store.leave(c, 'bob'), false);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
        }));

      it('is undefined for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.leave(randomUUID(), 'alice'), undefined);
        }));
    });

    describe('kick', () => {
      it('removes members, names those removed, and bars them from joining by themselves', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          assert.deepEqual(await store.kick(c, ['carol', 'bob', 'carol', 'mallory']), [
            'carol',
            'bob',
          ]);
          assert.deepEqual(await members(store, c), ['alice']);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
          assert.equal(await store.joinBySelf(c, 'carol'), 'kicked');
          assert.deepEqual(await store.joinedConversations('bob'), []);
        }));

      it('bars a session that was never a member from joining by itself', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.deepEqual(await store.kick(c, ['mallory']), []);
          assert.equal(await store.isMember(c, 'mallory'), false);
          assert.equal(await store.joinBySelf(c, 'mallory'), 'kicked');
          assert.deepEqual(await members(store, c), ['alice']);
        }));

      it('bars a session that had left from joining by itself', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await store.leave(c, 'bob');
          assert.deepEqual(await store.kick(c, ['bob']), []);
          assert.equal(await store.joinBySelf(c, 'bob'), 'kicked');
        }));

      it('is undefined for an unknown conversation', () =>
        withStore(async (store) => {
          assert.equal(await store.kick(randomUUID(), ['alice']), undefined);
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
  });
}
