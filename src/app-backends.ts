/**
 * The composition root's backends: the data directory, the store and the bus the settings
 * name, opened (part of app.ts, the one place that picks concrete ones).
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory-bus.js';
import { NatsBus } from './bus/nats-bus.js';
import type { Settings } from './config/settings.js';
import { MAX_NODE_ID, MsgIdAllocator } from './domain/msg-id.js';
import { PostgresStore } from './store/postgres-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { AllocateMsgId, Store } from './store/store.js';
import { firstLine } from './app-upkeep.js';

/** A start-up failure: one line naming the setting at fault. */
export class StartError extends Error {
  override name = 'StartError';
}

/** This node's MsgId allocator, given to the store. */
function allocatorFor(nodeNumber: number): AllocateMsgId {
  const ids = new MsgIdAllocator(nodeNumber);
  return (last) => ids.next(last);
}

/**
 * Creates the data directory with mode 0700. One that exists keeps its mode (the operator may
 * share it on purpose; the files inside are 0600 either way), with a warning when it is open.
 */
function makeDataDir(dataDir: string, logger: FastifyBaseLogger): void {
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 }) !== undefined) return;
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    logger.warn({ dataDir, mode: mode.toString(8) }, 'data directory is open to other users');
  }
}

/**
 * The store and this node's number, which its MsgIds carry: PostgreSQL hands each node its own;
 * a SQLite file has one writer, so any number will do.
 */
export async function openStore(
  settings: Settings,
  logger: FastifyBaseLogger,
): Promise<{ store: Store; nodeNumber: number }> {
  switch (settings.store.kind) {
    case 'sqlite': {
      makeDataDir(settings.dataDir, logger);
      const nodeNumber = randomInt(MAX_NODE_ID + 1);
      const store = new SqliteStore(join(settings.dataDir, 'quick-im.db'), {
        allocator: allocatorFor(nodeNumber),
        commitMaxWrites: settings.commitMaxWrites,
        walMaxBytes: settings.walMaxMb * 1024 * 1024,
        onCheckpointFailure: (reason) =>
          logger.warn({ reason }, 'sqlite background checkpoint failed; checkpointing inline only'),
      });
      return { store, nodeNumber };
    }
    case 'postgres':
      try {
        const store = await PostgresStore.open({
          url: settings.store.url,
          timeoutMs: settings.storeTimeoutMs,
          onError: (err) => logger.warn({ err: err.message }, 'postgres connection lost'),
          allocatorFor,
        });
        return { store, nodeNumber: store.nodeNumber };
      } catch (err) {
        throw new StartError(`--store: cannot use PostgreSQL: ${firstLine(err)}`);
      }
  }
}

/**
 * Opens the configured store, which applies its pending schema migrations, and closes it
 * (`quick-im migrate`): run once before starting a new version on several nodes.
 */
export async function migrateStore(settings: Settings, logger: FastifyBaseLogger): Promise<void> {
  const { store } = await openStore(settings, logger);
  await store.close();
}

export async function openBus(
  settings: Settings,
  logger: FastifyBaseLogger,
  onAvailability: (up: boolean) => void,
): Promise<Bus> {
  switch (settings.bus.kind) {
    case 'memory':
      return new MemoryBus();
    case 'nats':
      try {
        return await NatsBus.open({
          url: settings.bus.url,
          onAvailability,
          onError: (err) => logger.warn({ err: firstLine(err) }, 'bus error'),
        });
      } catch (err) {
        throw new StartError(`--bus: cannot connect to NATS: ${firstLine(err)}`);
      }
  }
}
