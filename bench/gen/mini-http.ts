/**
 * A minimal HTTP/1.1 keep-alive client for the publisher: a fixed pool of sockets, one request
 * at a time on each, responses framed by Content-Length. It costs the generator a fraction of
 * what `http.request` does, which matters when server and generator share two cores.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

type Done = (status: number) => void;

interface Pending {
  readonly bytes: string;
  readonly done: Done;
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  readonly socket: Socket;
  busy: Pending | null = null;
  private buf: Buffer | null = null;
  dead = false;

  constructor(
    private readonly owner: MiniHttp,
    host: string,
    port: number,
    localAddress: string,
  ) {
    this.socket = connect({ host, port, localAddress, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (): void => {
      if (this.dead) return;
      this.dead = true;
      const p = this.busy;
      this.busy = null;
      this.owner.remove(this);
      p?.done(0);
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  send(p: Pending): void {
    this.busy = p;
    this.socket.write(p.bytes);
  }

  private onData(chunk: Buffer): void {
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    const end = buf.indexOf(HEADER_END);
    if (end === -1) {
      this.buf = buf;
      return;
    }
    const head = buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (m === null) {
      // Not framed by Content-Length (chunked or close-delimited): not supported here.
      this.socket.destroy();
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (buf.length < total) {
      this.buf = buf;
      return;
    }
    this.buf = buf.length > total ? buf.subarray(total) : null;
    const p = this.busy;
    this.busy = null;
    p?.done(status);
    this.owner.idle(this);
  }
}

export class MiniHttp {
  private readonly conns = new Set<Connection>();
  private readonly free: Connection[] = [];
  private queue: Pending[] = [];
  private queueHead = 0;
  /** Requests sent or queued and not yet answered. */
  inflight = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxConnections: number,
    private readonly localAddress = '127.0.0.1',
  ) {}

  /** POSTs a JSON body; `done(status)` gets 0 when the connection failed. */
  post(path: string, body: string, extraHeaders: string, done: Done): void {
    const bytes =
      `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${extraHeaders}\r\n${body}`;
    this.inflight++;
    const p: Pending = {
      bytes,
      done: (status) => {
        this.inflight--;
        done(status);
      },
    };
    const c = this.free.pop() ?? this.open();
    if (c) c.send(p);
    else this.queue.push(p);
  }

  private open(): Connection | undefined {
    if (this.conns.size >= this.maxConnections) return undefined;
    const c = new Connection(this, this.host, this.port, this.localAddress);
    this.conns.add(c);
    return c;
  }

  /** A connection finished its request: give it the next queued one. */
  idle(c: Connection): void {
    if (this.queueHead < this.queue.length) {
      const p = this.queue[this.queueHead++] as Pending;
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      c.send(p);
      return;
    }
    this.free.push(c);
  }

  remove(c: Connection): void {
    this.conns.delete(c);
    const i = this.free.indexOf(c);
    if (i !== -1) this.free.splice(i, 1);
    // Keep the queue moving on a fresh connection.
    if (this.queueHead < this.queue.length) {
      const fresh = this.open();
      if (fresh) this.idle(fresh);
    }
  }

  destroy(): void {
    for (const c of this.conns) c.socket.destroy();
    for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]?.done(0);
    this.queue = [];
    this.queueHead = 0;
  }
}
