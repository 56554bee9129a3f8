import { after, before, describe } from 'node:test';
import { storeContract } from '../../test/contracts/store.contract.js';
import { postgresUnavailable, startPostgres } from '../../test/helpers/postgres.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import { skipReason } from '../../test/helpers/processes.js';
import { PostgresStore } from './postgres-store.js';

const skip = skipReason(postgresUnavailable());

describe('PostgresStore', { skip }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.destroy();
  });

  storeContract('PostgresStore', async () => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open({ url, timeoutMs: 5000 });
    return { store, cleanup: () => store.close().catch(() => {}) };
  });
});
