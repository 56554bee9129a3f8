import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Protocol, PushGrant } from '../realtime/wire.js';

export type { OverflowPolicy, Protocol, PushGrant, Wire } from '../realtime/wire.js';

/** What a `/notify` request asks of its transport besides the grant; only long-poll reads it. */
export interface PushOptions {
  /** How long a poll waits for a message, in seconds; 0 answers at once. */
  readonly timeoutSec: number;
  /** Messages per poll answer: null answers one `MsgData` object, n an array of up to n. */
  readonly batch: number | null;
  /** Called once a stream is open and headers are sent (for the access log); polls never call it. */
  readonly opened: () => void;
}

/**
 * One push protocol over `GET /notify`, picked by the composition root. The HTTP layer parses
 * the query and checks the token; the transport opens the wire, attaches it to the Hub and
 * answers the request. Resolves once the request is answered or the stream is open; rejects
 * with an `ImError` (answered by the HTTP layer's envelope) if it cannot start.
 */
export interface Transport {
  readonly protocol: Protocol;
  serve(
    grant: PushGrant,
    options: PushOptions,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | void>;
}

/** What the HTTP layer does for an upgrade request: the same checks and answers as `GET /notify`. */
export interface UpgradeHooks {
  /**
   * Checks the path, query and token; resolves with the grant and the protocol the query asks
   * for, or rejects with an `ImError`.
   */
  admit(req: IncomingMessage): Promise<{ readonly grant: PushGrant; readonly protoc: string }>;
  /** Answers a refused upgrade on the raw socket (the error envelope, then the socket ends). */
  refuse(socket: Duplex, err: unknown): void;
  /** The WebSocket is open (for the access log). */
  opened(req: IncomingMessage, grant: PushGrant): void;
}

/** A transport that takes HTTP upgrades (WebSocket) rather than plain requests. */
export interface UpgradeTransport {
  /** Takes every upgrade request `server` receives. */
  listen(server: Server, hooks: UpgradeHooks): void;
  /** Destroys every upgraded (or upgrading) socket at once, after a graceful close had its chance. */
  destroyAll(): void;
}

/**
 * When a new connection's first heartbeat falls due: at a random point in the second half of
 * `intervalMs`, then every `intervalMs`. Connections opened together (a reconnect storm after a
 * restart, a load test) would otherwise ping together forever: measured, 1,000 WebSocket
 * pings at once held the event loop 25–70 ms, and every message in flight waited for it.
 */
export function firstBeatAt(now: number, intervalMs: number, random = Math.random): number {
  return now + Math.ceil(intervalMs * (0.5 + random() / 2));
}
