/**
 * Reference: a minimal `ws` room-broadcast server. `GET /?room=<r>` upgrades and joins room r;
 * `POST /publish {room, content}` builds one pre-serialized buffer and sends it to every member
 * socket: about the practical limit of Node for this job.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { announce, answerOk, listenArgs, readPublish } from './common.js';

const rooms = new Map<string, Set<WebSocket>>();
const TEXT = { binary: false } as const;

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    void readPublish(req, res).then((body) => {
      if (body === null) return;
      const members = rooms.get(body.room);
      if (members !== undefined) {
        const frame = Buffer.from(JSON.stringify({ room: body.room, content: body.content }));
        for (const ws of members) ws.send(frame, TEXT);
      }
      answerOk(res);
    });
    return;
  }
  res.writeHead(req.method === 'GET' && req.url === '/' ? 200 : 404).end('raw-ws');
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://localhost').searchParams.get('room') ?? '';
  let members = rooms.get(room);
  if (members === undefined) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('error', () => ws.terminate());
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
  });
});

server.keepAliveTimeout = 65_000;
const { port, host } = listenArgs();
server.listen({ port, host, backlog: 4096 }, () => {
  announce(`http://${host}:${port}`, (done) => {
    server.closeAllConnections();
    server.close(() => done());
  });
});
