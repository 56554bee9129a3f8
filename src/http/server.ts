import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import { ErrorCode, ImError, RateLimitedError, errorBody, errorSpecs } from '../domain/errors.js';
import { refuse } from './envelope.js';
import { publicPaths } from './routes/public-routes.js';

export interface HttpOptions {
  readonly logger: FastifyBaseLogger;
  readonly maxBodyBytes: number;
  readonly trustProxy: readonly string[];
  /** A request (headers and body) must arrive whole within this, else its connection is closed. */
  readonly requestTimeoutMs: number;
  /**
   * Called once per answered request with its route pattern (`unmatched` for none: a URL would
   * make one series per client-chosen path), method, status and duration in seconds.
   */
  readonly onAnswered?: (route: string, method: string, status: number, seconds: number) => void;
}

/** Idle keep-alive connections close after this (above common load balancers' 60 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export const corsHeaders: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
};

const preflightHeaders = {
  ...corsHeaders,
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, last-event-id',
  'access-control-max-age': '600',
};

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function decodedQueryKey(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch {
    return key;
  }
}

/**
 * The URL as logged: the value of every query parameter whose name decodes to `token` is
 * replaced, so `?%74oken=…` (which the query parser decodes and authenticates) is hidden too.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      return decodedQueryKey(key).toLowerCase() === 'token' ? `${key}=[redacted]` : pair;
    })
    .join('&');
  return url.slice(0, q + 1) + query;
}

/** The HTTP status and reason for a request Node's parser gave up on. */
function clientErrorAnswer(code: string | undefined): { status: number; reason: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'request headers too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'request not received whole in time' };
    default:
      return {
        status: errorSpecs[ErrorCode.InvalidParameter].status,
        reason: 'malformed HTTP request',
      };
  }
}

/**
 * Malformed HTTP (bad request line: 400, oversized headers: 431, a request not whole within
 * the request timeout: 408): the 10001 envelope, then the socket ends.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, reason } = clientErrorAnswer(err.code);
    const { message } = errorSpecs[ErrorCode.InvalidParameter];
    const body = JSON.stringify(errorBody(ErrorCode.InvalidParameter, `${message}: ${reason}`));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

const levelRank: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** Whether a logger at `level` writes info lines (unknown custom levels are assumed to). */
function logsInfo(level: string): boolean {
  if (level === 'silent') return false;
  return (levelRank[level] ?? 0) <= levelRank.info!;
}

/** The switch that starts draining, and whether it has been thrown. */
export interface Drain {
  start(): void;
  readonly draining: boolean;
}

/**
 * Adds the shutdown hooks and returns the switch that starts draining: from then on every new
 * request is answered 503 / 10002 (except on routes with `config.answersWhileDraining`, the
 * probes), and every answer (those in flight included) carries `Connection: close`, so no
 * keep-alive connection takes another request. Call before routes are registered.
 */
export function refuseWhileDraining(app: FastifyInstance): Drain {
  let draining = false;
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining || request.routeOptions.config?.answersWhileDraining === true) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    refuse(reply, ErrorCode.Internal, 'server shutting down; retry', 503);
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  return {
    start() {
      draining = true;
    },
    get draining() {
      return draining;
    },
  };
}

/** Fastify with the contract's envelope, error mapping, CORS and one log line per request. */
export function createHttpServer(options: HttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    trustProxy: options.trustProxy.length > 0 ? [...options.trustProxy] : false,
    // Shutdown answers are ours (`refuseWhileDraining`), in the envelope; the app's close()
    // decides when idle connections go.
    return503OnClosing: false,
    forceCloseConnections: false,
    // Node closes a connection whose request (headers and body) is not whole in time; a push
    // stream's request is whole once open. The check runs every second, not every 30 s.
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    clientErrorHandler: answerClientError,
  });

  app.decorateRequest('claims', null);

  // An empty JSON body is no body: where the body is optional it is accepted, elsewhere the
  // schema answers 10001. Everything else goes to Fastify's parser (prototype poisoning refused).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body as string, done);
  });

  app.addHook('onRequest', (request, reply, done) => {
    const path = pathOf(request.url);
    if (publicPaths.has(path)) {
      if (request.method === 'OPTIONS') {
        void reply.code(204).headers(preflightHeaders).send();
        return;
      }
      void reply.headers(corsHeaders);
    }
    done();
  });

  const { onAnswered } = options;
  if (onAnswered) {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      onAnswered(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  app.addHook('onResponse', (request, reply, done) => {
    // Building the line (redacting the URL, resolving the client address) costs more than
    // pino's no-op when the level is off.
    if (!logsInfo(request.log.level)) {
      done();
      return;
    }
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ip: request.ip,
      },
      'request',
    );
    done();
  });

  app.setNotFoundHandler((_request, reply) => {
    refuse(reply, ErrorCode.RouteNotFound);
  });

  app.setErrorHandler((error: FastifyError | ImError | Error, request, reply) => {
    if (error instanceof RateLimitedError) {
      void reply.header('retry-after', String(error.retryAfterSec));
    }
    if (error instanceof ImError) {
      if (error.status >= 500)
        request.log.warn({ code: error.code, err: error.message }, 'unavailable');
      return refuse(reply, error.code, error.message, error.status);
    }
    const fe = error as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return refuse(reply, ErrorCode.TooLarge, `body exceeds ${options.maxBodyBytes} bytes`);
    }
    if (fe.validation) {
      return refuse(reply, ErrorCode.InvalidParameter, `invalid parameter: ${fe.message}`);
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return refuse(reply, ErrorCode.InvalidParameter, `invalid request: ${fe.message}`);
    }
    request.log.error({ err: error }, 'internal error');
    return refuse(reply, ErrorCode.Internal);
  });

  return app;
}
