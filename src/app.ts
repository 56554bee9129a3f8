import { randomInt } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Bus } from './bus/bus.js';
import { CidrSet } from './config/cidr.js';
import type { Settings } from './config/settings.js';
import { webhookKey } from './config/values.js';
import { registerDemoRoutes } from './demo/demo-routes.js';
import { InnerGate } from './http/auth.js';
import { OpenSockets } from './http/open-sockets.js';
import { corsHeaders, createHttpServer, refuseWhileDraining } from './http/server.js';
import { registerInnerRoutes, registerPresenceRoutes } from './http/routes/inner-routes.js';
import { registerMetricsRoute, registerMiscRoutes } from './http/routes/misc-routes.js';
import { ApiRoutes, registerOpenApiRoute } from './http/openapi.js';
import { registerNotifyRoutes } from './http/routes/notify-routes.js';
import { registerPublicRoutes } from './http/routes/public-routes.js';
import { createLogger } from './observability/logger.js';

import { StartError, openBus, openStore } from './app-backends.js';
import { buildInfo } from './observability/build-info.js';
import { Metrics, measured } from './observability/metrics.js';
import { systemClock } from './domain/clock.js';
import type { Clock } from './domain/clock.js';
import { CloseReason } from './realtime/close-reasons.js';
import { ClusterPresence } from './realtime/cluster-presence.js';
import { Hub } from './realtime/hub.js';
import { ConversationService } from './services/conversation-service.js';
import { MessageService } from './services/message-service.js';
import { RateLimiter } from './services/rate-limiter.js';
import { RevocationService } from './services/revocation-service.js';
import { ReadStateService } from './services/read-state-service.js';
import { TokenService, loadOrCreateKey } from './services/token-service.js';
import { CLIENT_MSG_ID_TTL_MS } from './store/store.js';
import type { Store } from './store/store.js';
import { PollTransport } from './transports/poll-transport.js';
import type { PollPositions } from './transports/poll-transport.js';
import { SseTransport } from './transports/sse-transport.js';
import { WsTransport } from './transports/ws-transport.js';
import type { WebhookEvents } from './services/webhook-events.js';
import { WebhookDelivery } from './webhooks/delivery-worker.js';
import {
  CLIENT_MSG_ID_SWEEP_MS,
  POLL_CURSOR_SWEEP_MS,
  REVOCATION_SWEEP_MS,
  firstLine,
  shutdownTimes,
  sweepEvery,
  within,
} from './app-upkeep.js';

// For the entry points: the process logger (serve flushes its first lines), `migrate`'s
// store opening and the start-up error type.
export { createLogger };
export { StartError, migrateStore } from './app-backends.js';

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
  /** Who is online on any node. */
  readonly presence: ClusterPresence;
  readonly metrics: Metrics;
  /** Stops accepting, ends push connections, lets in-flight requests finish, closes store and bus. */
  close(): Promise<void>;
}

/** The composition root: the only place that picks concrete store, bus and transports. */
export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(settings.logLevel);
  const build = buildInfo();
  const metrics = new Metrics(build);
  const clock = options.clock ?? systemClock;
  // The bus reports availability to the Hub and the caches, which are built after the bus.
  const live: { hub?: Hub; presence?: ClusterPresence; revocations?: RevocationService } = {};
  const { store: rawStore, nodeNumber } = await openStore(settings, logger);
  let rawBus: Bus;
  try {
    rawBus = await openBus(settings, logger, (up) => {
      // Without the bus this node would miss messages silently: close its connections and
      // refuse new ones until the bus is back; clients resume with last_msg_id.
      logger.warn({ up }, up ? 'bus back' : 'bus lost');
      metrics.busConnected(up);
      if (up) {
        metrics.busReconnected();
        live.hub?.resume();
        // Events may have been lost meanwhile: re-read revocations, re-announce presence.
        live.presence?.announce();
        live.revocations?.reload().catch((err: unknown) => {
          logger.warn({ err: firstLine(err) }, 'revocations not reloaded');
        });
      } else live.hub?.suspend();
    });
  } catch (err) {
    await rawStore.close();
    throw err;
  }
  const store = measured(rawStore, metrics.storeSeconds);
  const bus = measured(rawBus, metrics.busSeconds);
  const onBusError = (err: unknown): void => {
    logger.warn({ err: firstLine(err) }, 'bus publish failed');
  };
  const revocations = new RevocationService({
    store,
    bus,
    clock,
    tokenTtlSec: settings.tokenTtlSec,
    onBusError,
  });
  try {
    await revocations.start();
  } catch (err) {
    revocations.stop();
    await bus.close();
    await store.close();
    throw new StartError(`--store: cannot read revocations: ${firstLine(err)}`);
  }
  live.revocations = revocations;
  const tokens = new TokenService(
    loadOrCreateKey(settings.jwtKey, settings.dataDir),
    settings.tokenTtlSec,
    clock,
    revocations,
  );
  const nodeId = `${nodeNumber.toString(36)}-${process.pid.toString(36)}-${randomInt(1296).toString(36)}`;
  const hub = new Hub({
    store,
    bus,
    clock,
    logger,
    nodeId,
    queueMaxMessages: settings.queueMaxMessages,
    queueMaxBytes: settings.queueMaxBytes,
    maxConnections: settings.maxConnections,
    replayLimit: REPLAY_LIMIT,
    metrics,
  });
  live.hub = hub;
  const presence = new ClusterPresence({ hub, bus, clock, nodeId, logger });
  presence.start();
  live.presence = presence;
  // Webhooks: the services write events to the outbox with what they report; the worker
  // delivers them off the request path.
  const delivery =
    settings.webhookUrl === undefined || settings.webhookSecret === undefined
      ? undefined
      : new WebhookDelivery({
          url: settings.webhookUrl,
          key: webhookKey(settings.webhookSecret),
          outbox: store,
          clock,
          log: logger,
          metrics: metrics.webhooks,
          owner: nodeId,
          maxInFlight: settings.webhookMaxInFlight,
        });
  const webhooks: WebhookEvents | undefined = delivery && {
    now: () => clock.now(),
    presence,
    written: () => delivery.notify(),
  };
  const conversations = new ConversationService(
    store,
    bus,
    onBusError,
    RateLimiter.perMinute(settings.joinRate, clock),
    (event) => hub.applyHere(event),
    webhooks,
  );
  const messages = new MessageService(
    store,
    bus,
    conversations,
    settings.maxContentBytes,
    onBusError,
    metrics,
    RateLimiter.perSecond(settings.sendRate, clock),
    webhooks,
  );
  const readState = new ReadStateService(store, bus, conversations, presence, onBusError);

  const gate = new InnerGate(new CidrSet(settings.innerAllow), new CidrSet(settings.trustProxy));
  const http = createHttpServer({
    logger,
    maxBodyBytes: settings.maxBodyBytes,
    trustProxy: settings.trustProxy,
    requestTimeoutMs: settings.requestTimeoutMs,
    onAnswered: (route, method, status, seconds) =>
      metrics.httpAnswered(route, method, status, seconds),
  });
  const api = new ApiRoutes(http);
  const drain = refuseWhileDraining(http);
  const sockets = new OpenSockets(http.server);
  registerMiscRoutes(http, {
    probed: [
      { name: 'store', ping: () => store.ping() },
      { name: 'bus', ping: () => bus.ping() },
    ],
    draining: () => drain.draining,
  });
  registerMetricsRoute(http, metrics.registry, gate);
  registerOpenApiRoute(http, api, build.version);
  registerPublicRoutes(http, { tokens, conversations, messages, readState });
  registerInnerRoutes(http, { tokens, conversations, messages, readState, gate });
  registerPresenceRoutes(http, { presence, revocations, gate });
  if (settings.demo) registerDemoRoutes(http, { tokens, gate });
  const ws = new WsTransport({ hub, clock, pingIntervalMs: settings.pingIntervalMs });
  const positions: PollPositions = {
    save: (session, platform, msgId, atMs) => store.savePollCursor(session, platform, msgId, atMs),
    load: (session, platform, sinceMs) => store.pollCursor(session, platform, sinceMs),
  };
  registerNotifyRoutes(http, {
    tokens,
    transports: {
      ws,
      sse: new SseTransport({
        hub,
        clock,
        heartbeatMs: settings.sseHeartbeatMs,
        headers: corsHeaders,
      }),
      poll: new PollTransport({ hub, positions, clock, keepMs: settings.pollKeepMs }),
    },
    upgrades: ws,
  });
  await http.ready();
  // One shared timer for every connection's heartbeat, expiry and poll deadline.
  const tickMs = Math.min(500, settings.pingIntervalMs / 2, settings.sseHeartbeatMs / 2);
  const ticker = options.clock ? undefined : setInterval(() => hub.tick(), tickMs);
  ticker?.unref();
  const sweeps = options.clock
    ? []
    : [
        sweepEvery(POLL_CURSOR_SWEEP_MS, 'poll cursor', logger, () =>
          store.deleteExpiredPollCursors(Date.now() - settings.pollKeepMs),
        ),
        sweepEvery(REVOCATION_SWEEP_MS, 'revocation', logger, () => revocations.sweep()),
        sweepEvery(CLIENT_MSG_ID_SWEEP_MS, 'client_msg_id', logger, () =>
          store.deleteExpiredClientMsgIds(Date.now() - CLIENT_MSG_ID_TTL_MS),
        ),
      ];
  delivery?.start();

  let closing: Promise<void> | undefined;
  return {
    http,
    store,
    bus,
    hub,
    presence,
    metrics,
    close() {
      closing ??= (async () => {
        // Deliveries in flight are abandoned: their leases expire, and they are sent again.
        delivery?.stop();
        if (ticker) clearInterval(ticker);
        for (const timer of sweeps) clearInterval(timer);
        presence.stop();
        revocations.stop();
        drain.start();
        hub.closeAll(CloseReason.GoingAway);
        const { lingerMs, cutMs } = shutdownTimes(settings.shutdownGraceMs);
        const started = Date.now();
        // Whatever still holds a socket when the grace period (less the part kept for the bus
        // and store) is over is cut; its request, if any, gets no answer.
        const cut = setTimeout(() => {
          http.server.closeAllConnections();
          ws.destroyAll();
        }, cutMs);
        try {
          await sockets.lingered(lingerMs);
          // Stops listening and closes the connections still idle; each busy one ends after
          // its answer (`Connection: close`), so this resolves once every in-flight request
          // has been answered, or at the cut.
          await http.close();
        } finally {
          clearTimeout(cut);
        }
        // Messages accepted above were published before they were answered: the bus flushes
        // them, then the store closes (committing any append still queued).
        const left = (): number => Math.max(0, settings.shutdownGraceMs - (Date.now() - started));
        await within(bus.close(), left(), 'bus', logger);
        await within(store.close(), left(), 'store', logger);
      })();
      return closing;
    },
  };
}
