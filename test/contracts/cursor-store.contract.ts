import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MsgIdAllocator } from '../../src/domain/msg-id.js';
import type { CursorStore } from '../../src/store/store.js';
import { withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

/** The conformance suite of `CursorStore`. */
export function cursorStoreContract(name: string, factory: StoreFactory<CursorStore>): void {
  describe(`${name} conforms to CursorStore`, () => {
    const alloc = new MsgIdAllocator(1);
    const withStore = (fn: (store: CursorStore) => Promise<void>) => withStoreOf(factory, fn);

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

    describe('deleteExpiredPollCursors', () => {
      it('deletes the cursors saved before the time, keeps the rest, and counts what it deleted', () =>
        withStore(async (store) => {
          const [a, b, c] = [alloc.next(null), alloc.next(null), alloc.next(null)];
          await store.savePollCursor('alice', 1, a, 1_000);
          await store.savePollCursor('alice', 2, b, 2_000);
          await store.savePollCursor('bob', 1, c, 3_000);
          assert.equal(await store.deleteExpiredPollCursors(2_000), 1);
          assert.equal(await store.pollCursor('alice', 1, 0), null);
          // Saved exactly at the time: not before it, so kept.
          assert.equal(await store.pollCursor('alice', 2, 0), b);
          assert.equal(await store.pollCursor('bob', 1, 0), c);
          assert.equal(await store.deleteExpiredPollCursors(10_000), 2);
          assert.equal(await store.pollCursor('alice', 2, 0), null);
          assert.equal(await store.pollCursor('bob', 1, 0), null);
        }));

      it('deletes nothing when no cursor is that old, or none exists', () =>
        withStore(async (store) => {
          assert.equal(await store.deleteExpiredPollCursors(Date.now()), 0);
          const a = alloc.next(null);
          await store.savePollCursor('alice', 1, a, 5_000);
          assert.equal(await store.deleteExpiredPollCursors(5_000), 0);
          assert.equal(await store.pollCursor('alice', 1, 5_000), a);
        }));

      it('judges a cursor by its latest save', () =>
        withStore(async (store) => {
          const [a, b] = [alloc.next(null), alloc.next(null)];
          await store.savePollCursor('alice', 1, a, 1_000);
          await store.savePollCursor('alice', 1, b, 9_000);
          assert.equal(await store.deleteExpiredPollCursors(5_000), 0);
          assert.equal(await store.pollCursor('alice', 1, 0), b);
        }));

      it('lets a deleted cursor be saved again', () =>
        withStore(async (store) => {
          const [a, b] = [alloc.next(null), alloc.next(null)];
          await store.savePollCursor('alice', 1, a, 1_000);
          assert.equal(await store.deleteExpiredPollCursors(2_000), 1);
          await store.savePollCursor('alice', 1, b, 3_000);
          assert.equal(await store.pollCursor('alice', 1, 0), b);
        }));
    });
  });
}
