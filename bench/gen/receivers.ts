/**
 * Push receivers for every server under test. Each hands every message `content` it gets to
 * `onContent`. Contents start with a `~` marker that nothing else in a frame contains, so
 * receivers find them in the raw frame text instead of JSON-parsing whole frames: the
 * generator shares the two cores with the server and should cost as little as it can.
 * (Socket.IO's client parses its packets itself.)
 */
import { Agent, get } from 'node:http';
import type { ClientRequest } from 'node:http';
import { io } from 'socket.io-client';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import { WebSocket } from 'ws';

export type ReceiverKind = 'qim-ws' | 'qim-sse' | 'qim-poll' | 'raw-ws' | 'socketio';

export interface ReceiverSpec {
  readonly kind: ReceiverKind;
  readonly baseUrl: string;
  readonly localAddress: string;
  /** The room (references) to join. */
  readonly room: string;
  /** The member's token (quick-im). */
  readonly token: string;
  readonly timeoutMs: number;
  readonly onContent: (content: string) => void;
  /** quick-im WebSocket only: the `MsgId` of each message. */
  readonly onMsgId?: (msgId: string) => void;
  /** The connection failed or ended unexpectedly after it was open. */
  readonly onError: (why: string) => void;
}

export interface ReceiverHandle {
  isOpen(): boolean;
  close(): void;
}

/** Hands each `~…` content in a JSON text (up to its closing quote) to `onContent`. */
export function scanContents(text: string, onContent: (content: string) => void): void {
  for (let i = text.indexOf('~'), n = 0; i !== -1 && n < 10_000; n++) {
    const end = text.indexOf('"', i);
    onContent(text.slice(i, end === -1 ? undefined : end));
    i = end === -1 ? -1 : text.indexOf('~', end);
  }
}

function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function openWs(spec: ReceiverSpec): Promise<ReceiverHandle> {
  const wsBase = spec.baseUrl.replace(/^http/, 'ws');
  const qim = spec.kind === 'qim-ws';
  const url = qim
    ? `${wsBase}/notify?protoc=ws&token=${spec.token}`
    : `${wsBase}/?room=${encodeURIComponent(spec.room)}`;
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    localAddress: spec.localAddress,
    handshakeTimeout: spec.timeoutMs,
  });
  let closing = false;
  const onMsgId = spec.onMsgId;
  ws.on('message', (data: Buffer) => {
    const text = data.toString('latin1');
    scanContents(text, spec.onContent);
    if (onMsgId !== undefined) {
      const at = text.indexOf('"MsgId":"');
      if (at !== -1) onMsgId(text.slice(at + 9, at + 28));
    }
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.on('close', (code) => {
        if (!closing) spec.onError(`ws closed ${code}`);
      });
      resolve({
        isOpen: () => ws.readyState === WebSocket.OPEN,
        close: () => {
          closing = true;
          ws.terminate();
        },
      });
    });
    ws.once('error', (err) => reject(err));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      reject(new Error(`ws handshake answered ${res.statusCode}`));
    });
  });
}

function openSocketIo(spec: ReceiverSpec): Promise<ReceiverHandle> {
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: spec.timeoutMs,
    query: { room: spec.room },
    localAddress: spec.localAddress,
  };
  const socket = io(spec.baseUrl, options);
  let closing = false;
  socket.on('msg', (m: { content?: unknown }) => {
    if (typeof m.content === 'string') spec.onContent(m.content);
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.on('disconnect', (reason) => {
        if (!closing) spec.onError(`socket.io disconnect: ${reason}`);
      });
      resolve({
        isOpen: () => socket.connected,
        close: () => {
          closing = true;
          socket.disconnect();
        },
      });
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      reject(err);
    });
  });
}

function openSse(spec: ReceiverSpec): Promise<ReceiverHandle> {
  let closing = false;
  let open = false;
  let req: ClientRequest;
  const opened = new Promise<void>((resolve, reject) => {
    req = get(
      `${spec.baseUrl}/notify?protoc=sse&token=${spec.token}`,
      { localAddress: spec.localAddress, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`sse answered ${res.statusCode}`));
          return;
        }
        open = true;
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let end: number;
          for (let i = 0; i < 100_000 && (end = buf.indexOf('\n\n')) !== -1; i++) {
            const event = buf.slice(0, end);
            buf = buf.slice(end + 2);
            if (event.includes('event: message')) scanContents(event, spec.onContent);
          }
        });
        res.on('close', () => {
          open = false;
          if (!closing) spec.onError('sse stream ended');
        });
        resolve();
      },
    );
    req.on('error', (err) => {
      if (!open) reject(err);
    });
  });
  const handle = {
    isOpen: () => open,
    close: () => {
      closing = true;
      req.destroy();
    },
  };
  return withTimeout(opened, spec.timeoutMs, 'sse', handle.close).then(() => handle);
}

const pollAgents = new Map<string, Agent>();

function pollAgent(localAddress: string): Agent {
  let a = pollAgents.get(localAddress);
  if (!a) pollAgents.set(localAddress, (a = new Agent({ keepAlive: true, localAddress })));
  return a;
}

/** Long-poll: a first `timeout=0` poll attaches the place, then polls back to back. */
async function openPoll(spec: ReceiverSpec): Promise<ReceiverHandle> {
  const agent = pollAgent(spec.localAddress);
  const base = `${spec.baseUrl}/notify?protoc=poll&token=${spec.token}&batch=100`;
  let current: ClientRequest | null = null;
  let stopped = false;
  const once = (timeoutSec: number): Promise<number> =>
    new Promise((resolve, reject) => {
      current = get(`${base}&timeout=${timeoutSec}`, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status === 200)
            scanContents(Buffer.concat(chunks).toString('latin1'), spec.onContent);
          resolve(status);
        });
        res.on('error', reject);
      });
      current.on('error', reject);
    });
  const first = await withTimeout(once(0), spec.timeoutMs, 'poll', () => current?.destroy());
  if (first !== 200 && first !== 204) throw new Error(`poll answered ${first}`);
  const loop = async (): Promise<void> => {
    // Bounded: stops on close, on any failure, and after 10 million polls.
    for (let i = 0; i < 10_000_000 && !stopped; i++) {
      const status = await once(25);
      if (status !== 200 && status !== 204) throw new Error(`poll answered ${status}`);
    }
  };
  loop().catch((err: unknown) => {
    if (!stopped) spec.onError(`poll: ${(err as Error).message}`);
    stopped = true;
  });
  return {
    isOpen: () => !stopped,
    close: () => {
      stopped = true;
      current?.destroy();
    },
  };
}

export function openReceiver(spec: ReceiverSpec): Promise<ReceiverHandle> {
  switch (spec.kind) {
    case 'qim-ws':
    case 'raw-ws':
      return openWs(spec);
    case 'socketio':
      return openSocketIo(spec);
    case 'qim-sse':
      return openSse(spec);
    case 'qim-poll':
      return openPoll(spec);
  }
}

/** Which receiver reaches `target` over `receiver`. */
export function receiverKind(target: string, receiver: 'ws' | 'sse' | 'poll'): ReceiverKind {
  if (target === 'raw-ws' || target === 'raw-ws-send') return 'raw-ws';
  if (target === 'socketio') return 'socketio';
  return receiver === 'ws' ? 'qim-ws' : receiver === 'sse' ? 'qim-sse' : 'qim-poll';
}
