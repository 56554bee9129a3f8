/**
 * Reference: a Socket.IO 4 server with rooms, what a Node developer would pick instead.
 * Clients connect with `?room=<r>` (WebSocket transport); `POST /publish {room, content}` emits
 * `msg {room, content}` to the room.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { announce, answerOk, listenArgs, readPublish } from './common.js';

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    void readPublish(req, res).then((body) => {
      if (body === null) return;
      io.to(body.room).emit('msg', { room: body.room, content: body.content });
      answerOk(res);
    });
    return;
  }
  res.writeHead(req.method === 'GET' && req.url === '/' ? 200 : 404).end('socketio');
});

const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
});
io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  void socket.join(typeof room === 'string' ? room : '');
});

server.keepAliveTimeout = 65_000;
const { port, host } = listenArgs();
server.listen({ port, host, backlog: 4096 }, () => {
  announce(`http://${host}:${port}`, (done) => {
    void io.close(() => done());
  });
});
