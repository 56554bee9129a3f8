/**
 * Reference: a minimal `ws` room-broadcast server, as lean as Node gets for this job.
 * `GET /?room=<r>` upgrades and joins room r; `POST /publish {room, content}` serializes the
 * message once and sends it to every member socket, then answers.
 *
 * Per publish it does what quick-im's fan-out does and no more: one JSON string, one buffer
 * holding the whole WebSocket frame (built once, unmasked as a server sends), and one
 * `socket.write` of that same buffer per member — nothing per recipient but the write. With
 * `--send` it calls `ws.send(buffer)` per member instead (ws builds and corks a header for
 * each): the bench's `raw-ws-send` target, kept to check the two against each other.
 */
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { announce, answerOk, listenArgs, readPublish } from './common.js';

interface Member {
  readonly ws: WebSocket;
  readonly socket: Duplex;
}

const { port, host, send: perSocketSend } = listenArgs();
const rooms = new Map<string, Set<Member>>();
const TEXT = { binary: false } as const;

/** RFC 6455 §5.2: FIN + text opcode, unmasked, then the length; the payload follows. */
function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(out, header);
  return out;
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    void readPublish(req, res).then((body) => {
      if (body === null) return;
      const members = rooms.get(body.room);
      if (members !== undefined) {
        const payload = Buffer.from(JSON.stringify({ room: body.room, content: body.content }));
        if (perSocketSend) {
          for (const m of members) m.ws.send(payload, TEXT);
        } else {
          const frame = textFrame(payload);
          for (const m of members) m.socket.write(frame);
        }
      }
      answerOk(res);
    });
    return;
  }
  res.writeHead(req.method === 'GET' && req.url === '/' ? 200 : 404).end('raw-ws');
});

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
});
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    const room = new URL(req.url ?? '/', 'http://localhost').searchParams.get('room') ?? '';
    let members = rooms.get(room);
    if (members === undefined) rooms.set(room, (members = new Set()));
    const member: Member = { ws, socket };
    members.add(member);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      members.delete(member);
      if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
    });
  });
});

server.keepAliveTimeout = 65_000;
server.listen({ port, host, backlog: 4096 }, () => {
  announce(`http://${host}:${port}`, (done) => {
    server.closeAllConnections();
    server.close(() => done());
  });
});
