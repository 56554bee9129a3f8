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
import { registerNotifyRoutes } from './http/routes/notify-routes.js';
import { registerPublicRoutes } from './http/routes/public-routes.js';
import { createLogger } from './observability/logger.js';
import { systemClock } from './realtime/clock.js';
import type { Clock } from './realtime/clock.js';
import { CloseReason } from './realtime/close-reasons.js';
import { Hub } from './realtime/hub.js';
import { ConversationService } from './services/conversation-service.js';
import { MessageService } from './services/message-service.js';
import { TokenService, loadOrCreateKey } from './services/token-service.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

export interface AppOptions {
  /** Defaults to a pino logger at `settings.logLevel`. */
  readonly logger?: FastifyBaseLogger;
  /**
   * The Hub's clock. When given, no timer runs: the caller advances it and calls
   * `app.hub.tick()` (tests do this instead of sleeping).
   */
  readonly clock?: Clock;
}

/** Most messages a resume replays (the newest ones); older ones are for the history endpoints. */
export const REPLAY_LIMIT = 1000;

export interface App {
  readonly http: FastifyInstance;
  readonly store: Store;
  readonly bus: Bus;
  readonly hub: Hub;
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
  const nodeNumber = randomInt(MAX_NODE_ID + 1);
  const ids = new MsgIdAllocator(nodeNumber);
  const clock = options.clock ?? systemClock;
  const hub = new Hub({
    store,
    bus,
    clock,
    logger,
    nodeId: `${nodeNumber.toString(36)}-${process.pid.toString(36)}`,
    queueMaxMessages: settings.queueMaxMessages,
    queueMaxBytes: settings.queueMaxBytes,
    replayLimit: REPLAY_LIMIT,
  });
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
  registerNotifyRoutes(http, {
    tokens,
    hub,
    clock,
    pingIntervalMs: settings.pingIntervalMs,
    sseHeartbeatMs: settings.sseHeartbeatMs,
    pollKeepMs: settings.pollKeepMs,
  });
  await http.ready();
  // One shared timer for every connection's heartbeat, expiry and poll deadline.
  const tickMs = Math.min(500, settings.pingIntervalMs / 2, settings.sseHeartbeatMs / 2);
  const ticker = options.clock ? undefined : setInterval(() => hub.tick(), tickMs);
  ticker?.unref();

  let closing: Promise<void> | undefined;
  return {
    http,
    store,
    bus,
    hub,
    close() {
      closing ??= (async () => {
        if (ticker) clearInterval(ticker);
        const stopped = http.close();
        hub.closeAll(CloseReason.GoingAway);
        await stopped;
        await bus.close();
        await store.close();
      })();
      return closing;
    },
  };
}
