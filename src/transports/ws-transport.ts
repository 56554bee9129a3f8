import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import type { Clock } from '../domain/clock.js';
import { ErrorCode, ImError } from '../domain/errors.js';
import type { Connection } from '../realtime/connection.js';
import type { Hub } from '../realtime/hub.js';
import type { PushGrant } from '../realtime/wire.js';
import type { PushOptions, Transport, UpgradeHooks, UpgradeTransport } from './transport.js';
import { WsWire } from './ws-wire.js';

// Clients never need to send frames; anything large is abuse.
const MAX_CLIENT_FRAME_BYTES = 4096;

export interface WsTransportOptions {
  readonly hub: Pick<Hub, 'attach' | 'detach' | 'drained'>;
  readonly clock: Clock;
  readonly pingIntervalMs: number;
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

/**
 * `GET /notify?protoc=ws` with an upgrade: owns the HTTP server's `upgrade` event, the
 * handshake and every upgraded socket until it closes.
 */
export class WsTransport implements Transport, UpgradeTransport {
  readonly protocol = 'ws' as const;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly o: WsTransportOptions) {}

  /** A plain request reached the route: a WebSocket needs the upgrade. */
  serve(
    _grant: PushGrant,
    _options: PushOptions,
    _request: FastifyRequest,
    _reply: FastifyReply,
  ): Promise<void> {
    return Promise.reject(
      new ImError(ErrorCode.InvalidParameter, 'protoc=ws needs a WebSocket upgrade'),
    );
  }

  /** Takes every upgrade request `server` receives. */
  listen(server: Server, hooks: UpgradeHooks): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(req, socket, head, hooks);
    });
  }

  /** Destroys every upgraded (or upgrading) socket at once, after a graceful close had its chance. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    hooks: UpgradeHooks,
  ): Promise<void> {
    const { hub, clock } = this.o;
    socket.on('error', () => socket.destroy());
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    let conn: Connection | undefined;
    try {
      const { grant, protoc } = await hooks.admit(req);
      if (!isHandshake(req)) {
        throw new ImError(ErrorCode.InvalidParameter, 'malformed WebSocket handshake');
      }
      if (protoc !== 'ws') {
        throw new ImError(
          ErrorCode.InvalidParameter,
          `protoc=${protoc} cannot upgrade to WebSocket`,
        );
      }
      const wire = new WsWire(this.o.pingIntervalMs);
      conn = await hub.attach(wire, grant);
      const attached = conn;
      if (socket.destroyed) {
        hub.detach(attached);
        return;
      }
      socket.once('close', () => hub.detach(attached));
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        hooks.opened(req, grant);
        ws.on('close', () => hub.detach(attached));
        ws.on('error', () => ws.terminate());
        wire.open(ws, socket, clock.now(), () => hub.drained(attached));
        hub.drained(attached);
      });
    } catch (err) {
      if (conn) hub.detach(conn);
      hooks.refuse(socket, err);
    }
  }
}
