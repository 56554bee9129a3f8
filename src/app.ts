import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory-bus.js';
import { CidrSet } from './config/cidr.js';
import type { Settings } from './config/settings.js';
import { MAX_NODE_ID, MsgIdAllocator } from './domain/msg-id.js';
import { createHttpServer } from './http/server.js';
import { registerInnerRoutes } from './http/routes/inner-routes.js';
import { registerMiscRoutes } from './http/routes/misc-routes.js';
import { registerPublicRoutes } from './http/routes/public-routes.js';
import { createLogger } from './observability/logger.js';
import { ConversationService } from './services/conversation-service.js';
import { MessageService } from './services/message-service.js';
import { TokenService, loadOrCreateKey } from './services/token-service.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

export interface AppOptions {
  /** Defaults to a pino logger at `settings.logLevel`. */
  readonly logger?: FastifyBaseLogger;
}

export interface App {
  readonly http: FastifyInstance;
  readonly store: Store;
  readonly bus: Bus;
  /** Stops accepting, ends push connections, lets in-flight requests finish, closes store and bus. */
  close(): Promise<void>;
}

function openStore(settings: Settings): Store {
  switch (settings.store.kind) {
    case 'sqlite':
      mkdirSync(settings.dataDir, { recursive: true });
      return new SqliteStore(join(settings.dataDir, 'quick-im.db'));
    case 'postgres':
      throw new Error('--store: postgres is not available in this build yet');
  }
}

function openBus(settings: Settings): Bus {
  switch (settings.bus.kind) {
    case 'memory':
      return new MemoryBus();
    case 'nats':
      throw new Error('--bus: nats is not available in this build yet');
  }
}

/** The composition root: the only place that picks concrete store, bus and transports. */
export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(settings.logLevel);
  const store = openStore(settings);
  const bus = openBus(settings);
  const onBusError = (err: unknown): void => {
    logger.warn({ err: (err as Error).message }, 'bus publish failed');
  };
  const tokens = new TokenService(
    loadOrCreateKey(settings.jwtKey, settings.dataDir),
    settings.tokenTtlSec,
  );
  const ids = new MsgIdAllocator(randomInt(MAX_NODE_ID + 1));
  const conversations = new ConversationService(store, bus, onBusError);
  const messages = new MessageService(
    store,
    bus,
    conversations,
    ids,
    settings.maxContentBytes,
    onBusError,
  );

  const http = createHttpServer({
    logger,
    maxBodyBytes: settings.maxBodyBytes,
    trustProxy: settings.trustProxy,
  });
  registerMiscRoutes(http, async () => {
    await store.ping();
    await bus.ping();
  });
  registerPublicRoutes(http, { tokens, conversations, messages });
  registerInnerRoutes(http, {
    tokens,
    conversations,
    innerAllow: new CidrSet(settings.innerAllow),
  });
  await http.ready();

  let closing: Promise<void> | undefined;
  return {
    http,
    store,
    bus,
    close() {
      closing ??= (async () => {
        await http.close();
        await bus.close();
        await store.close();
      })();
      return closing;
    },
  };
}
