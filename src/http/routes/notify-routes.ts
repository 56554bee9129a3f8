import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ErrorCode, ImError, errorBody } from '../../domain/errors.js';
import { isMsgId } from '../../domain/msg-id.js';
import type { PushGrant } from '../../realtime/wire.js';
import type { TokenService } from '../../services/token-service.js';
import type { Protocol, Transport, UpgradeTransport } from '../../transports/transport.js';
import { readBearer } from '../bearer.js';
import type { RouteDocs } from '../openapi.js';
import { pollAnswer } from '../response-schemas.js';
import {
  DEFAULT_POLL_TIMEOUT_SEC,
  MAX_POLL_BATCH,
  MAX_POLL_TIMEOUT_SEC,
  notifyQuery,
} from '../schemas.js';
import { redactUrl } from '../server.js';

export interface NotifyDeps {
  readonly tokens: TokenService;
  /** The transport serving each `protoc`, picked by the composition root. */
  readonly transports: Readonly<Record<Protocol, Transport>>;
  /** The transport that takes HTTP upgrades to `/notify`. */
  readonly upgrades: UpgradeTransport;
}

interface NotifyQuery {
  readonly token: string | undefined;
  readonly protoc: Protocol;
  readonly lastMsgId: string | null;
  readonly timeoutSec: number;
  readonly batch: number | null;
  readonly events: boolean;
}

type QueryValues = Readonly<Record<string, unknown>>;

function single(q: QueryValues, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ImError(ErrorCode.InvalidParameter, `${name} given twice`);
  return v;
}

function intParam(q: QueryValues, name: string, min: number, max: number): number | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,3}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ImError(ErrorCode.InvalidParameter, `${name} must be an integer ${min}..${max}`);
  }
  return Number(v);
}

function parseProtocol(q: QueryValues): Protocol {
  const protoc = single(q, 'protoc');
  if (protoc !== 'ws' && protoc !== 'sse' && protoc !== 'poll') {
    throw new ImError(ErrorCode.BadProtocol, 'protoc must be ws, sse or poll');
  }
  return protoc;
}

/**
 * `events=1` opts a ws or sse stream in to event frames. Any other value, and `events` on
 * long-poll (whose answers are messages only), is refused with 10001 rather than ignored, so a
 * client never waits for events it will not get.
 */
function parseEvents(q: QueryValues, protoc: Protocol): boolean {
  const events = single(q, 'events');
  if (events === undefined) return false;
  if (events !== '1') throw new ImError(ErrorCode.InvalidParameter, 'events must be 1');
  if (protoc === 'poll') {
    throw new ImError(ErrorCode.InvalidParameter, 'events=1 needs protoc=ws or protoc=sse');
  }
  return true;
}

/** Validates the query; `Last-Event-ID` is the SSE resume point when `last_msg_id` is absent. */
function parseQuery(q: QueryValues, lastEventId: string | undefined): NotifyQuery {
  const protoc = parseProtocol(q);
  const lastMsgId = single(q, 'last_msg_id') ?? (protoc === 'sse' ? lastEventId : undefined);
  if (lastMsgId !== undefined && lastMsgId !== '' && !isMsgId(lastMsgId)) {
    throw new ImError(ErrorCode.InvalidParameter, 'last_msg_id is not a MsgId');
  }
  return {
    token: single(q, 'token'),
    protoc,
    lastMsgId: lastMsgId ? lastMsgId : null,
    timeoutSec: intParam(q, 'timeout', 0, MAX_POLL_TIMEOUT_SEC) ?? DEFAULT_POLL_TIMEOUT_SEC,
    batch: intParam(q, 'batch', 1, MAX_POLL_BATCH) ?? null,
    events: parseEvents(q, protoc),
  };
}

/** Who the token names, and where the query says to resume. */
async function grantFor(
  tokens: TokenService,
  query: NotifyQuery,
  authorization: string | undefined,
): Promise<PushGrant> {
  const claims = await tokens.verify(readBearer(authorization) ?? query.token);
  return {
    session: claims.session,
    platform: claims.platform,
    lastMsgId: query.lastMsgId,
    expiresAtMs: claims.expiresAt * 1000,
    issuedAtSec: claims.issuedAt,
    events: query.events,
  };
}

/** The query of an upgrade request, as Fastify's parser would give it (repeated names → array). */
function upgradeQuery(url: URL): QueryValues {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = q[k];
    q[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return q;
}

const notifyDocs: RouteDocs = {
  summary: 'Push: WebSocket, Server-Sent Events or long-poll',
  description:
    "Every message of every conversation the token's session is a member of, as MsgData JSON, " +
    'in MsgId order per conversation. ws: one text frame per message (with events=1, event ' +
    'frames too). sse: `id: <MsgId>`, `event: message`, `data: <MsgData>`. poll: the oldest ' +
    'undelivered message, an array with `batch`, or 204 after `timeout` seconds. Errors found ' +
    'before the stream starts are ordinary answers with the envelope (a refused WebSocket ' +
    'handshake too); a poll replaced by a newer one answers 409 / 10009, one whose token is ' +
    'revoked 401 / 10101, one cut by a bus outage or shutdown 503 / 10002. With events=1 (ws, ' +
    'sse) event frames join the stream, never replayed: `{"Event":"read","ConversationID",' +
    '"Session","ReadMsgId"}`, `{"Event":"joined","ConversationID","Sessions"}`, ' +
    '`{"Event":"left","ConversationID","Sessions","Kicked"}` (SSE: `event: <Event>`, no id).',
  access: 'token',
  query: notifyQuery,
  responses: {
    '101': { description: 'protoc=ws: the WebSocket handshake (send `Upgrade: websocket`).' },
    '200': {
      description: 'protoc=sse: the event stream; protoc=poll: messages.',
      content: { 'text/event-stream': { type: 'string' }, 'application/json': pollAnswer },
    },
    '204': { description: 'protoc=poll: no message came within `timeout`.' },
  },
  errors: [ErrorCode.BadProtocol, ErrorCode.Replaced],
};

/**
 * `GET /notify?protoc=ws|sse|poll`: parses the query and checks the token, then hands the
 * request to the transport the composition root picked for the protocol.
 */
export function registerNotifyRoutes(app: FastifyInstance, deps: NotifyDeps): void {
  const { tokens, transports } = deps;

  app.get('/notify', { config: { docs: notifyDocs } }, async (request, reply) => {
    const query = parseQuery(
      request.query as QueryValues,
      request.headers['last-event-id'] as string | undefined,
    );
    const grant = await grantFor(tokens, query, request.headers.authorization);
    return transports[query.protoc].serve(
      grant,
      {
        timeoutSec: query.timeoutSec,
        batch: query.batch,
        opened: () =>
          request.log.info(
            { url: redactUrl(request.url), protoc: query.protoc, session: grant.session },
            'push opened',
          ),
      },
      request,
      reply,
    );
  });

  const log = app.log;
  deps.upgrades.listen(app.server, {
    async admit(req) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/notify' || req.method !== 'GET') {
        throw new ImError(ErrorCode.RouteNotFound);
      }
      const query = parseQuery(upgradeQuery(url), undefined);
      return {
        grant: await grantFor(tokens, query, req.headers.authorization),
        protoc: query.protoc,
      };
    },
    refuse: (socket, err) => refuseUpgrade(socket, err, log),
    opened(req: IncomingMessage, grant: PushGrant) {
      log.info(
        { url: redactUrl(req.url ?? ''), protoc: 'ws', session: grant.session },
        'push opened',
      );
    },
  });
}

/** Answers a refused handshake with the envelope and the code's HTTP status. */
function refuseUpgrade(socket: Duplex, err: unknown, log: FastifyBaseLogger): void {
  const e = err instanceof ImError ? err : new ImError(ErrorCode.Internal);
  if (!(err instanceof ImError)) log.error({ err }, 'websocket upgrade failed');
  const body = JSON.stringify(errorBody(e.code, e.message));
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Access-Control-Allow-Origin: *\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
