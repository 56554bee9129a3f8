import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Revocation, RevocationStore } from '../../src/store/revocations.js';
import { withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

const byKey = (a: Revocation, b: Revocation): number =>
  a.session === b.session
    ? (a.platform ?? -1) - (b.platform ?? -1)
    : a.session < b.session
      ? -1
      : 1;

/** The conformance suite of `RevocationStore`. */
export function revocationStoreContract(
  name: string,
  factory: StoreFactory<RevocationStore>,
): void {
  describe(`${name} conforms to RevocationStore`, () => {
    const withStore = (fn: (store: RevocationStore) => Promise<void>) => withStoreOf(factory, fn);
    const all = async (store: RevocationStore): Promise<Revocation[]> =>
      (await store.revocationsSince(0)).sort(byKey);

    describe('revoke', () => {
      it('keeps one time per session and platform, null standing for every platform', () =>
        withStore(async (store) => {
          assert.equal(await store.revoke('alice', null, 1_000), 1_000);
          assert.equal(await store.revoke('alice', 3, 1_200), 1_200);
          assert.equal(await store.revoke('bob', 0, 900), 900);
          assert.deepEqual(await all(store), [
            { session: 'alice', platform: null, revokedBefore: 1_000 },
            { session: 'alice', platform: 3, revokedBefore: 1_200 },
            { session: 'bob', platform: 0, revokedBefore: 900 },
          ]);
        }));

      it('moves a time forward, never back, and answers the time kept', () =>
        withStore(async (store) => {
          await store.revoke('alice', 1, 2_000);
          assert.equal(await store.revoke('alice', 1, 3_000), 3_000);
          assert.equal(await store.revoke('alice', 1, 2_500), 3_000);
          assert.deepEqual(await all(store), [
            { session: 'alice', platform: 1, revokedBefore: 3_000 },
          ]);
        }));

      it('keeps unicode session ids intact', () =>
        withStore(async (store) => {
          await store.revoke('ß-用户', null, 5);
          assert.deepEqual(await all(store), [
            { session: 'ß-用户', platform: null, revokedBefore: 5 },
          ]);
        }));
    });

    describe('revocationsSince', () => {
      it('returns the revocations at or after the time', () =>
        withStore(async (store) => {
          await store.revoke('alice', null, 1_000);
          await store.revoke('bob', null, 2_000);
          const since = (await store.revocationsSince(2_000)).map((r) => r.session);
          assert.deepEqual(since, ['bob']);
          assert.deepEqual(await store.revocationsSince(2_001), []);
        }));
    });

    describe('deleteRevocationsBefore', () => {
      it('deletes those strictly before the time and counts them', () =>
        withStore(async (store) => {
          await store.revoke('alice', null, 1_000);
          await store.revoke('alice', 2, 2_000);
          await store.revoke('bob', 1, 3_000);
          assert.equal(await store.deleteRevocationsBefore(2_000), 1);
          assert.deepEqual(
            (await all(store)).map((r) => [r.session, r.platform]),
            [
              ['alice', 2],
              ['bob', 1],
            ],
          );
          assert.equal(await store.deleteRevocationsBefore(2_000), 0);
          assert.equal(await store.revoke('alice', null, 4_000), 4_000, 'revocable again');
        }));
    });
  });
}
