import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseRawResponse } from '../helpers/http.js';
import { SseClient, WsClient, closeAll, notifyUrl, poll } from '../helpers/push-clients.js';
import { history, pollWaits } from '../helpers/push-fixtures.js';
import type { PushClient } from '../helpers/push-clients.js';
import { startServer, tempDataDir } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('push on shutdown', () => {
  it('closes WebSocket clients with 1001, ends SSE streams and answers waiting polls when the app closes', async () => {
    const server = await startServer();
    const clients: PushClient[] = [];
    try {
      const conversationId = await server.createConversation(['alice']);
      assert.ok(conversationId);
      const [wsToken, sseToken, pollToken] = await Promise.all(
        [1, 2, 3].map((p) => server.token('alice', p)),
      );
      const ws = await WsClient.open(notifyUrl(server, 'ws', { token: wsToken }));
      const sse = await SseClient.open(notifyUrl(server, 'sse', { token: sseToken }));
      clients.push(ws, sse);
      const waiting = poll(server, { token: pollToken, timeout: 60 });
      await pollWaits(server, 'alice', 3, 'the poll to wait');

      await server.close();
      assert.equal(await ws.closed(), 1001);
      await sse.closed();
      assert.equal(sse.events.at(-1)?.event, 'shutdown', JSON.stringify(sse.events));
      const answer = await waiting;
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'error']);
      assert.equal(answer.body.code, 10002);
      assert.equal(server.app.hub.size, 0);
    } finally {
      await closeAll(clients);
      await server.close(true);
    }
  });

  it('answers a /send_msg that was in flight when the app began to close, and keeps what it accepted', async () => {
    const server = await startServer();
    let reopened: TestServer | undefined;
    try {
      const token = await server.token('alice');
      const conversationId = await server.createConversation(['alice']);
      const request = await startRequest(server, token, conversationId);
      const closing = server.close();
      request.finish();
      const answer = await request.answer;
      request.socket.destroy();
      await closing;
      const json = JSON.parse(answer.body);
      if (answer.status === 200) {
        assert.equal(json.code, 0);
        reopened = await startServer({ dataDir: server.dataDir });
        const stored = await history(reopened, await reopened.token('alice'), conversationId);
        assert.deepEqual(
          stored.map((m) => m.MsgId),
          [json.data.MsgID],
          'the accepted message was kept',
        );
      } else {
        assert.equal(answer.status, 503, answer.body);
        assert.equal(json.code, 10002);
      }
    } finally {
      await reopened?.close();
      await server.close(true);
    }
  });

  /** Something that holds a connection open; `closing` runs once app.close() has begun. */
  interface Holder {
    readonly closing?: () => void;
    readonly release: () => void;
  }
  const holders: Array<[string, (server: TestServer) => Promise<Holder>]> = [
    [
      'a keep-alive client whose request was in flight',
      async (server) => {
        const token = await server.token('alice');
        const conversationId = await server.createConversation(['alice']);
        const request = await startRequest(server, token, conversationId);
        return { closing: () => request.finish(), release: () => request.socket.destroy() };
      },
    ],
    [
      'a client that connected but never sent a request',
      async (server) => {
        const accepted = once(server.app.http.server, 'connection');
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        await withTimeout(accepted, 5000, 'the server to accept');
        return { release: () => socket.destroy() };
      },
    ],
    [
      'a WebSocket client that never answers the close handshake',
      async (server) => {
        const token = await server.token('bob');
        const ws = await WsClient.open(notifyUrl(server, 'ws', { token }));
        ws.pause();
        return { release: () => ws.ws.terminate() };
      },
    ],
  ];
  for (const [holder, hold] of holders) {
    it(`finishes closing soon after shutdownGraceMs despite ${holder}`, async () => {
      const server = await startServer({ shutdownGraceMs: 100 });
      let held: Holder | undefined;
      let closing: Promise<void> | undefined;
      try {
        held = await hold(server);
        closing = server.close(true);
        held.closing?.();
        await withTimeout(closing, 1500, 'app.close() to finish after the grace period');
      } finally {
        held?.release();
        await (closing ?? server.close(true));
      }
    });
  }

  it('closes WebSocket clients with 1001 and exits 0 on SIGTERM', async () => {
    const dataDir = tempDataDir();
    const child = spawn(
      process.execPath,
      [
        'dist/main.js',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--log-level',
        'info',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, QUICKIM_JWT_KEY: '' },
      },
    );
    let exitCode: number | null | undefined;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code) => {
        exitCode = code;
        resolve();
      }),
    );
    const clients: PushClient[] = [];
    try {
      let address: string | undefined;
      const listening = new Promise<void>((resolve) =>
        createInterface({ input: child.stdout }).on('line', (line) => {
          try {
            const entry = JSON.parse(line) as { msg?: string; address?: string };
            if (entry.msg === 'listening') {
              address = entry.address;
              resolve();
            }
          } catch {
            // not a log line
          }
        }),
      );
      await withTimeout(
        Promise.race([listening, exited]),
        20_000,
        () => `the "listening" log line (stderr: ${stderr})`,
      );
      assert.ok(address, `exited ${exitCode} before listening: ${stderr}`);
      const base = address;
      const res = await fetch(`${base}/inner/get_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session: 'alice', platform: 1 }),
      });
      const token = ((await res.json()) as { data: string }).data;
      const ws = await WsClient.open(
        `${base.replace(/^http/, 'ws')}/notify?protoc=ws&token=${encodeURIComponent(token)}`,
      );
      clients.push(ws);

      assert.ok(child.kill('SIGTERM'));
      assert.equal(await ws.closed(10_000), 1001);
      await withTimeout(exited, 15_000, 'the process to exit');
      assert.equal(exitCode, 0, stderr);
    } finally {
      await closeAll(clients);
      if (exitCode === undefined) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

interface InFlight {
  readonly socket: Socket;
  /** Sends the rest of the body. */
  finish(): void;
  /** The complete answer (the connection stays open: keep-alive). */
  readonly answer: Promise<{ status: number; body: string }>;
}

/**
 * A keep-alive `/send_msg` whose headers and half its body have reached the server; the
 * rest waits for `finish`.
 */
async function startRequest(
  server: TestServer,
  token: string,
  conversationId: string,
): Promise<InFlight> {
  const body = JSON.stringify({
    conversation_id: conversationId,
    status: 0,
    type: 1,
    content: 'sent while closing',
  });
  const half = Math.floor(body.length / 2);
  const arrived = once(server.app.http.server, 'request');
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const parsed = parseRawResponse(text);
      const length = Number(parsed.headers.get('content-length'));
      if (Buffer.byteLength(parsed.body) >= length) resolve(parsed);
    });
    socket.once('close', () => reject(new Error(`closed without an answer: ${received}`)));
  });
  // A test that only holds the connection never reads the answer: its rejection (the server
  // closed first, after the grace period) is not an error there.
  answer.catch(() => undefined);
  socket.write(
    `POST /send_msg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
      body.slice(0, half),
  );
  await withTimeout(arrived, 5000, 'the server to start reading the request');
  return { socket, finish: () => socket.write(body.slice(half)), answer };
}
