import type { ServerResponse } from 'node:http';
import type { CloseReason } from '../realtime/close-reasons.js';
import { errorBody } from '../domain/errors.js';
import { closeSpecs } from '../realtime/close-reasons.js';
import type { Frame } from '../realtime/frame.js';
import type { Wire } from '../realtime/wire.js';
import { firstBeatAt } from './transport.js';

const HEARTBEAT = Buffer.from(': ping\n\n');

/** Server-Sent Events: `id:`, `event: message`, `data: MsgData`, and comment heartbeats. */
export class SseWire implements Wire {
  readonly protocol = 'sse' as const;
  readonly overflow = 'close' as const;
  private res: ServerResponse | null = null;
  private pendingClose: CloseReason | null = null;
  private nextBeatAt = 0;

  constructor(private readonly heartbeatMs: number) {}

  /** Headers are sent; `onDrain` runs whenever the response's buffer empties. */
  open(res: ServerResponse, now: number, onDrain: () => void): void {
    this.res = res;
    this.nextBeatAt = firstBeatAt(now, this.heartbeatMs);
    res.on('drain', onDrain);
    if (this.pendingClose !== null) this.close(this.pendingClose);
  }

  capacity(): number {
    const res = this.res;
    return res !== null && !res.writableNeedDrain && !res.writableEnded && !res.destroyed ? 1 : 0;
  }

  write(frames: readonly Frame[]): void {
    const res = this.res;
    if (res === null) return;
    for (const f of frames) res.write(f.sseEvent);
  }

  tick(now: number): boolean {
    const res = this.res;
    if (res === null || now < this.nextBeatAt) return true;
    if (res.destroyed || res.writableEnded) return false;
    this.nextBeatAt = now + this.heartbeatMs;
    res.write(HEARTBEAT);
    return true;
  }

  close(reason: CloseReason): void {
    const res = this.res;
    if (res === null) {
      this.pendingClose = reason;
      return;
    }
    if (res.writableEnded || res.destroyed) return;
    const spec = closeSpecs[reason];
    const data = JSON.stringify(errorBody(spec.code, spec.message));
    res.end(`event: ${spec.sseEvent}\ndata: ${data}\n\n`);
  }
}
