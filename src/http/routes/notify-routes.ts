import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import { ErrorCode, ImError, errorSpecs } from '../../domain/errors.js';
import { isMsgId } from '../../domain/msg-id.js';
import type { Clock } from '../../domain/clock.js';
import type { Connection, Hub } from '../../realtime/hub.js';
import type { TokenClaims, TokenService } from '../../services/token-service.js';
import { PollWire } from '../../transports/poll-transport.js';
import type { PollAnswer } from '../../transports/poll-transport.js';
import { SseWire } from '../../transports/sse-transport.js';
import { WsWire } from '../../transports/ws-transport.js';
import { corsHeaders, redactUrl } from '../server.js';

export interface NotifyDeps {
  readonly tokens: TokenService;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly pingIntervalMs: number;
  readonly sseHeartbeatMs: number;
  readonly pollKeepMs: number;
}

const DEFAULT_POLL_TIMEOUT_SEC = 30;
const replacedAnswer: PollAnswer = {
  status: errorSpecs[ErrorCode.Replaced].status,
  body: JSON.stringify({ code: ErrorCode.Replaced, error: errorSpecs[ErrorCode.Replaced].message }),
};
const MAX_POLL_TIMEOUT_SEC = 60;
const MAX_POLL_BATCH = 100;
// Clients never need to send frames; anything large is abuse.
const MAX_CLIENT_FRAME_BYTES = 4096;

interface NotifyQuery {
  readonly token: string | undefined;
  readonly protoc: 'ws' | 'sse' | 'poll';
  readonly lastMsgId: string | null;
  readonly timeoutSec: number;
  readonly batch: number | null;
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

function parseProtocol(q: QueryValues): NotifyQuery['protoc'] {
  const protoc = single(q, 'protoc');
  if (protoc !== 'ws' && protoc !== 'sse' && protoc !== 'poll') {
    throw new ImError(ErrorCode.BadProtocol, 'protoc must be ws, sse or poll');
  }
  return protoc;
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
  };
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}

/** `GET /notify?protoc=ws|sse|poll`: the three push transports over one Hub. */
/** What the app needs from the notify routes at shutdown. */
export interface NotifyHandle {
  /** Destroys every WebSocket's socket at once (after the graceful close had its chance). */
  destroyAll(): void;
}

/** A well-formed WebSocket handshake (checked before the Hub is touched, so junk kicks no one). */
function isHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  return (
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    req.headers['sec-websocket-version'] === '13'
  );
}

export function registerNotifyRoutes(app: FastifyInstance, deps: NotifyDeps): NotifyHandle {
  const { hub, clock, tokens } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const sockets = new Set<Duplex>();

  async function authorize(query: NotifyQuery, header: string | undefined): Promise<TokenClaims> {
    return tokens.verify(bearer(header) ?? query.token);
  }

  app.get('/notify', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = parseQuery(
      request.query as QueryValues,
      request.headers['last-event-id'] as string | undefined,
    );
    const claims = await authorize(query, request.headers.authorization);
    if (query.protoc === 'ws') {
      throw new ImError(ErrorCode.InvalidParameter, 'protoc=ws needs a WebSocket upgrade');
    }
    if (query.protoc === 'sse') return openSse(request, reply, query, claims);
    return poll(request, reply, query, claims);
  });

  async function openSse(
    request: FastifyRequest,
    reply: FastifyReply,
    query: NotifyQuery,
    claims: TokenClaims,
  ): Promise<void> {
    const wire = new SseWire(deps.sseHeartbeatMs);
    const conn = await hub.attach(claims.session, claims.platform, wire, {
      lastMsgId: query.lastMsgId,
      expiresAtMs: claims.expiresAt * 1000,
    });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...corsHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    res.on('close', () => hub.detach(conn));
    request.log.info(
      { url: redactUrl(request.url), protoc: 'sse', session: claims.session },
      'push opened',
    );
    wire.open(res, clock.now(), () => hub.drained(conn));
    hub.drained(conn);
  }

  async function poll(
    request: FastifyRequest,
    reply: FastifyReply,
    query: NotifyQuery,
    claims: TokenClaims,
  ): Promise<FastifyReply> {
    let conn = hub.find(claims.session, claims.platform);
    const resumable =
      conn !== undefined &&
      conn.wire instanceof PollWire &&
      (query.lastMsgId === null || query.lastMsgId === conn.lastSentId);
    if (!resumable || conn === undefined) {
      // No place here: another node (or this one before a bus outage) may have answered the last poll.
      const lastMsgId =
        query.lastMsgId ??
        (conn === undefined
          ? await hub.savedPollCursor(claims.session, claims.platform, deps.pollKeepMs)
          : null);
      conn = await hub.attach(
        claims.session,
        claims.platform,
        new PollWire(deps.pollKeepMs, clock.now()),
        {
          lastMsgId,
          expiresAtMs: claims.expiresAt * 1000,
        },
      );
    } else if (conn.overflowed) {
      await hub.refill(conn);
    }
    const place: Connection = conn;
    const wire = place.wire as PollWire;
    const answer = await new Promise<PollAnswer>((resolve) => {
      if (place.closed) {
        resolve(replacedAnswer);
        return;
      }
      wire.wait(resolve, query.batch, clock.now() + query.timeoutSec * 1000);
      request.raw.once('close', () => wire.cancel(resolve, clock.now()));
      hub.drained(place);
      if (query.timeoutSec === 0 && wire.cancel(resolve, clock.now())) resolve({ status: 204 });
    });
    wire.touch(clock.now());
    if (answer.status === 200 || answer.status === 204) {
      await hub.savePollCursor(place).catch((err: unknown) => {
        request.log.warn({ err: (err as Error).message }, 'poll cursor not saved');
      });
    }
    void reply.code(answer.status);
    if (answer.body === undefined) return reply.send();
    return reply.type('application/json; charset=utf-8').send(answer.body);
  }

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(req, socket, head, app.log);
  });

  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    log: FastifyBaseLogger,
  ): Promise<void> {
    socket.on('error', () => socket.destroy());
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const url = new URL(req.url ?? '/', 'http://localhost');
    let conn: Connection | undefined;
    try {
      if (url.pathname !== '/notify' || req.method !== 'GET')
        throw new ImError(ErrorCode.RouteNotFound);
      const q: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = q[k];
        q[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
      }
      const query = parseQuery(q, undefined);
      const claims = await authorize(query, req.headers.authorization);
      if (!isHandshake(req)) {
        throw new ImError(ErrorCode.InvalidParameter, 'malformed WebSocket handshake');
      }
      if (query.protoc !== 'ws')
        throw new ImError(
          ErrorCode.InvalidParameter,
          `protoc=${query.protoc} cannot upgrade to WebSocket`,
        );
      const wire = new WsWire(deps.pingIntervalMs);
      conn = await hub.attach(claims.session, claims.platform, wire, {
        lastMsgId: query.lastMsgId,
        expiresAtMs: claims.expiresAt * 1000,
      });
      const attached = conn;
      if (socket.destroyed) {
        hub.detach(attached);
        return;
      }
      socket.once('close', () => hub.detach(attached));
      wss.handleUpgrade(req, socket, head, (ws) => {
        log.info(
          { url: redactUrl(req.url ?? ''), protoc: 'ws', session: claims.session },
          'push opened',
        );
        ws.on('close', () => hub.detach(attached));
        ws.on('error', () => ws.terminate());
        wire.open(ws, socket, clock.now(), () => hub.drained(attached));
        hub.drained(attached);
      });
    } catch (err) {
      if (conn) hub.detach(conn);
      refuseUpgrade(socket, err, log);
    }
  }

  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/** Answers a refused handshake with the envelope and the code's HTTP status. */
function refuseUpgrade(socket: Duplex, err: unknown, log: FastifyBaseLogger): void {
  const e = err instanceof ImError ? err : new ImError(ErrorCode.Internal);
  if (!(err instanceof ImError)) log.error({ err }, 'websocket upgrade failed');
  const body = JSON.stringify({ code: e.code, error: e.message });
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
