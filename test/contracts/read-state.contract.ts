import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UNREAD } from '../../src/store/store.js';
import type { ConversationSummary, Store } from '../../src/store/store.js';
import {
  HIGHEST_ID,
  LOWEST_ID,
  conversation,
  draft,
  send,
  sorted,
  withStore as withStoreOf,
} from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

async function summaryOf(store: Store, session: string, c: string): Promise<ConversationSummary> {
  const found = (await store.conversationSummaries(session)).find((s) => s.conversationId === c);
  assert.ok(found, `${session} lists ${c}`);
  return found;
}

async function cursorOf(store: Store, c: string, session: string): Promise<string | null> {
  const page = await store.memberCursors(c, null, 1000);
  const found = page?.find((m) => m.session === session);
  assert.ok(found, `${session} is a member of ${c}`);
  return found.readMsgId;
}

/**
 * The conformance suite of read cursors (`CursorStore.markRead`, `conversationSummaries`,
 * `memberCursors`), with the cursor moves that joins and sends make.
 */
export function readStateContract(name: string, factory: StoreFactory<Store>): void {
  describe(`${name} conforms to CursorStore read state`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withStoreOf(factory, fn);

    describe('markRead', () => {
      it('moves to min(msgId, last id), never back, and answers whether it moved', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          const [m1, m2, m3] = [
            await send(store, c, 'bob'),
            await send(store, c, 'bob'),
            await send(store, c, 'bob'),
          ];
          assert.equal(await cursorOf(store, c, 'alice'), null);
          assert.deepEqual(await store.markRead(c, 'alice', m2!.MsgId), {
            kind: 'read',
            readMsgId: m2!.MsgId,
            advanced: true,
          });
          assert.deepEqual(await store.markRead(c, 'alice', m1!.MsgId), {
            kind: 'read',
            readMsgId: m2!.MsgId,
            advanced: false,
          });
          assert.deepEqual(await store.markRead(c, 'alice', m2!.MsgId), {
            kind: 'read',
            readMsgId: m2!.MsgId,
            advanced: false,
          });
          assert.deepEqual(await store.markRead(c, 'alice', HIGHEST_ID), {
            kind: 'read',
            readMsgId: m3!.MsgId,
            advanced: true,
          });
          assert.equal(await cursorOf(store, c, 'alice'), m3!.MsgId);
        }));

      it('stays null in a conversation without messages', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice']);
          assert.deepEqual(await store.markRead(c, 'alice', HIGHEST_ID), {
            kind: 'read',
            readMsgId: null,
            advanced: false,
          });
          assert.equal(await cursorOf(store, c, 'alice'), null);
        }));

      it('refuses a non-member and an unknown conversation', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          await send(store, c, 'alice');
          await store.leave(c, 'bob');
          assert.deepEqual(await store.markRead(c, 'bob', HIGHEST_ID), { kind: 'not-member' });
          assert.deepEqual(await store.markRead(c, 'carol', HIGHEST_ID), { kind: 'not-member' });
          assert.deepEqual(await store.markRead('nope', 'alice', HIGHEST_ID), {
            kind: 'not-found',
          });
        }));
    });

    describe('cursor moves by sends and joins', () => {
      it("moves the sender's cursor to its own message", () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          const theirs = await send(store, c, 'bob');
          const mine = await send(store, c, 'alice');
          assert.equal(await cursorOf(store, c, 'alice'), mine.MsgId);
          assert.equal(await cursorOf(store, c, 'bob'), theirs.MsgId);
          assert.equal((await summaryOf(store, 'alice', c)).unread, 0);
          assert.equal((await summaryOf(store, 'bob', c)).unread, 1);
        }));

      it("sets a new member's cursor to the last id, and leaves a current member's alone", () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          const m1 = await send(store, c, 'alice');
          assert.equal(await store.joinBySelf(c, 'carol'), 'joined');
          assert.deepEqual(await store.joinByInner(c, ['dave', 'bob']), ['dave']);
          assert.equal(await cursorOf(store, c, 'carol'), m1.MsgId);
          assert.equal(await cursorOf(store, c, 'dave'), m1.MsgId);
          assert.equal(await cursorOf(store, c, 'bob'), null, 'bob was already a member');
          const m2 = await send(store, c, 'alice');
          assert.equal(await store.joinBySelf(c, 'carol'), 'already-member');
          assert.equal(await cursorOf(store, c, 'carol'), m1.MsgId, 'a rejoin of a member');
          await store.leave(c, 'carol');
          assert.equal(await store.joinBySelf(c, 'carol'), 'joined');
          assert.equal(await cursorOf(store, c, 'carol'), m2.MsgId);
          await store.kick(c, ['dave']);
          await store.joinByInner(c, ['dave']);
          assert.equal(await cursorOf(store, c, 'dave'), m2.MsgId);
        }));
    });

    describe('conversationSummaries', () => {
      it('lists current conversations newest first, those without messages last', () =>
        withStore(async (store) => {
          const empty = await conversation(store, ['alice'], 3);
          const older = await conversation(store, ['alice', 'bob']);
          const newer = await conversation(store, ['alice', 'bob']);
          const gone = await conversation(store, ['alice', 'bob']);
          await send(store, older, 'bob', { sendTime: 1_000 });
          await send(store, gone, 'bob', { sendTime: 1_500 });
          const last = await send(store, newer, 'bob', { sendTime: 2_000 });
          await send(store, older, 'bob', { sendTime: 500 });
          await store.leave(gone, 'alice');
          await store.setArchived([newer], true);
          const list = await store.conversationSummaries('alice');
          assert.deepEqual(
            list.map((s) => s.conversationId),
            [newer, older, empty],
          );
          assert.deepEqual(list[0], {
            conversationId: newer,
            type: 0,
            isArchive: true,
            lastMsgId: last.MsgId,
            lastSendTime: 2_000,
            lastSendSession: 'bob',
            readMsgId: null,
            unread: 1,
          });
          assert.deepEqual(list[2], {
            conversationId: empty,
            type: 3,
            isArchive: false,
            lastMsgId: null,
            lastSendTime: null,
            lastSendSession: null,
            readMsgId: null,
            unread: 0,
          });
          assert.deepEqual(await store.conversationSummaries('nobody'), []);
        }));

      it('counts messages after the cursor that others sent', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          const b1 = await send(store, c, 'bob');
          await send(store, c, 'carol');
          await send(store, c, 'bob');
          assert.equal((await summaryOf(store, 'alice', c)).unread, 3);
          await store.markRead(c, 'alice', b1.MsgId);
          const s = await summaryOf(store, 'alice', c);
          assert.equal(s.unread, 2);
          assert.equal(s.readMsgId, b1.MsgId);
          await store.appendUnchecked(draft(c, 'system'));
          assert.equal((await summaryOf(store, 'alice', c)).unread, 3);
          await store.markRead(c, 'alice', HIGHEST_ID);
          assert.equal((await summaryOf(store, 'alice', c)).unread, 0);
          assert.equal((await summaryOf(store, 'carol', c)).unread, 2);
        }));

      it(`caps unread at ${MAX_UNREAD}`, () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob']);
          for (let done = 0; done < MAX_UNREAD + 5;) {
            const n = Math.min(200, MAX_UNREAD + 5 - done);
            await Promise.all(Array.from({ length: n }, () => send(store, c, 'bob')));
            done += n;
          }
          assert.equal((await summaryOf(store, 'alice', c)).unread, MAX_UNREAD);
        }));
    });

    describe('memberCursors', () => {
      it('pages current members in byte order, strictly after `after`', () =>
        withStore(async (store) => {
          const sessions = ['b', 'a', 'B', 'aa', 'é', 'z', 'left', 'kicked'];
          const c = await conversation(store, sessions);
          await store.leave(c, 'left');
          await store.kick(c, ['kicked']);
          const byteOrder = sorted(['b', 'a', 'B', 'aa', 'é', 'z']).sort((x, y) =>
            Buffer.compare(Buffer.from(x), Buffer.from(y)),
          );
          const first = await store.memberCursors(c, null, 4);
          assert.deepEqual(
            first?.map((m) => m.session),
            byteOrder.slice(0, 4),
          );
          const rest = await store.memberCursors(c, byteOrder[3]!, 4);
          assert.deepEqual(
            rest?.map((m) => m.session),
            byteOrder.slice(4),
          );
          assert.deepEqual(await store.memberCursors(c, byteOrder.at(-1)!, 4), []);
          assert.equal(await store.memberCursors('nope', null, 4), undefined);
        }));

      it('carries each member’s cursor', () =>
        withStore(async (store) => {
          const c = await conversation(store, ['alice', 'bob', 'carol']);
          const m = await send(store, c, 'alice');
          await store.markRead(c, 'bob', LOWEST_ID);
          await store.markRead(c, 'carol', HIGHEST_ID);
          assert.deepEqual(await store.memberCursors(c, null, 10), [
            { session: 'alice', readMsgId: m.MsgId },
            { session: 'bob', readMsgId: LOWEST_ID },
            { session: 'carol', readMsgId: m.MsgId },
          ]);
        }));
    });
  });
}
