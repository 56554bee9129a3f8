import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnavailableError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/store.js';
import { conversationStoreContract } from './conversation-store.contract.js';
import { cursorStoreContract } from './cursor-store.contract.js';
import { idempotencyStoreContract } from './idempotency-store.contract.js';
import { messageStoreContract } from './message-store.contract.js';
import { revocationStoreContract } from './revocation-store.contract.js';
import { readStateContract } from './read-state.contract.js';
import { webhookOutboxContract } from './webhook-outbox.contract.js';
import { conversation, draft, withStore as withStoreOf } from './store-fixtures.js';
import type { StoreFactory } from './store-fixtures.js';

/** What `Store` adds to its concerns: it answers `ping` while open and nothing once closed. */
export function storeLifecycleContract(name: string, factory: StoreFactory<Store>): void {
  describe(`${name} conforms to Store`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withStoreOf(factory, fn);

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
          await assert.rejects(store.appendMessage(draft(c, 'alice')), UnavailableError);
          await assert.rejects(store.savePollCursor('alice', 1, 'x', 0), UnavailableError);
          await assert.rejects(store.deleteExpiredPollCursors(0), UnavailableError);
          await assert.rejects(store.revoke('alice', null, 0), UnavailableError);
          await assert.rejects(store.revocationsSince(0), UnavailableError);
        }));
    });
  });
}

/**
 * Every conformance suite of the store seam — one per interface, and the lifecycle of the
 * whole — against one backend. A new backend is done when this passes unchanged.
 */
export function storeContract(name: string, factory: StoreFactory<Store>): void {
  conversationStoreContract(name, factory);
  messageStoreContract(name, factory);
  cursorStoreContract(name, factory);
  revocationStoreContract(name, factory);
  readStateContract(name, factory);
  idempotencyStoreContract(name, factory);
  webhookOutboxContract(name, factory);
  storeLifecycleContract(name, factory);
}
