import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseReason, closeSpecs } from '../realtime/close-reasons.js';
import type { Frame } from '../realtime/frame.js';
import type { Wire } from '../realtime/wire.js';
import { firstBeatAt } from './transport.js';

// Past this many bytes buffered in the socket, frames wait in the Hub's bounded queue.
const HIGH_WATER_BYTES = 64 * 1024;

/** A WebSocket push connection: each message is one text frame of `MsgData` JSON. */
export class WsWire implements Wire {
  readonly protocol = 'ws' as const;
  readonly overflow = 'close' as const;
  private ws: WebSocket | null = null;
  private socket: Duplex | null = null;
  private pendingClose: CloseReason | null = null;
  private awaitingPong = false;
  private nextPingAt = 0;

  constructor(private readonly pingIntervalMs: number) {}

  /** The handshake finished; `onDrain` runs whenever the socket's buffer empties. */
  open(ws: WebSocket, socket: Duplex, now: number, onDrain: () => void): void {
    this.ws = ws;
    this.socket = socket;
    this.nextPingAt = firstBeatAt(now, this.pingIntervalMs);
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    socket.on('drain', onDrain);
    if (this.pendingClose !== null) this.close(this.pendingClose);
  }

  capacity(): number {
    const ws = this.ws;
    return ws !== null && ws.readyState === 1 && ws.bufferedAmount < HIGH_WATER_BYTES ? 1 : 0;
  }

  /**
   * Writes each frame's prebuilt WebSocket bytes straight to the socket. Safe beside `ws`'s own
   * writes (pings, the close frame): without permessage-deflate its sender writes each frame
   * whole and at once, so frames never interleave; and `bufferedAmount` counts the socket's
   * buffer, so `capacity` sees these bytes too.
   */
  write(frames: readonly Frame[]): void {
    const ws = this.ws;
    const socket = this.socket;
    if (ws === null || socket === null || ws.readyState !== 1) return;
    for (const f of frames) socket.write(f.wsFrame);
  }

  tick(now: number): boolean {
    const ws = this.ws;
    if (ws === null || now < this.nextPingAt) return true;
    if (this.awaitingPong) return false;
    this.awaitingPong = true;
    this.nextPingAt = now + this.pingIntervalMs;
    ws.ping();
    return true;
  }

  close(reason: CloseReason): void {
    const ws = this.ws;
    if (ws === null) {
      this.pendingClose = reason;
      return;
    }
    if (ws.readyState !== 1) return;
    if (reason === CloseReason.HeartbeatTimeout) {
      ws.terminate();
      return;
    }
    const spec = closeSpecs[reason];
    ws.close(spec.wsCode, spec.message);
  }
}
