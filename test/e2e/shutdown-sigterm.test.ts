import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startNodeProcess } from '../helpers/child-nodes.js';
import type { NodeProcess } from '../helpers/child-nodes.js';
import { HIGHEST_MSG_ID, MSG_ID, parseRawResponse } from '../helpers/http.js';
import { startServer, tempDataDir } from '../helpers/server.js';
import { withTimeout } from '../helpers/wait.js';

const CLIENTS = 20;
/** Answers received before SIGTERM: enough that every client is mid-loop. */
const ANSWERS_BEFORE_SIGTERM = 200;
const GRACE_MS = 3000;

/** How one `/send_msg` ended: an answer, or its socket closed without one. */
type Outcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly text: string;
      readonly connection: string | undefined;
    }
  | {
      readonly kind: 'closed';
      readonly error: string;
      /** Sent on a keep-alive connection that had just carried an answer. */
      readonly reused: boolean;
    };

/** One keep-alive POST on `agent`; never rejects. */
function post(
  agent: Agent,
  url: string,
  path: string,
  body: unknown,
  token: string,
): Promise<Outcome> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      url + path,
      {
        agent,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            kind: 'answer',
            status: res.statusCode ?? 0,
            text,
            connection: res.headers.connection,
          }),
        );
        res.on('error', (err) =>
          resolve({ kind: 'closed', error: err.message, reused: req.reusedSocket }),
        );
      },
    );
    req.on('error', (err) =>
      resolve({ kind: 'closed', error: err.message, reused: req.reusedSocket }),
    );
    req.end(payload);
  });
}

async function token(node: NodeProcess, session: string): Promise<string> {
  const res = await node.post('/inner/get_token', { session, platform: 1 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { data: string }).data;
}

/** Every stored MsgId of a conversation, read in pages of the range endpoint. */
async function storedIds(
  node: NodeProcess,
  bearer: string,
  conversationId: string,
): Promise<Set<string>> {
  const ids = new Set<string>();
  let start = '22222-2222-2222-222';
  for (;;) {
    const res = await node.post(
      '/get_conversation_msg_by_range',
      {
        conversation_id: conversationId,
        start_msg_id: start,
        end_msg_id: HIGHEST_MSG_ID,
        desc: false,
      },
      bearer,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = (res.body as { data: { Msg: Array<{ MsgId: string }> } }).data.Msg;
    const before = ids.size;
    for (const m of page) ids.add(m.MsgId);
    if (ids.size === before || page.length === 0) return ids;
    start = page.at(-1)!.MsgId;
  }
}

/** Sends headers promising 100,000 bytes, then one byte; resolves when the server closes it. */
async function slowRequest(url: string): Promise<{ closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.resume();
  await once(socket, 'connect');
  socket.write(
    'POST /send_msg HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100000\r\n\r\n{',
  );
  return { closed: once(socket, 'close').then(() => undefined) };
}

/** Reads one HTTP answer from `socket` (the body is sized by Content-Length). */
function readAnswer(socket: Socket): Promise<ReturnType<typeof parseRawResponse>> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const answer = parseRawResponse(received);
      if (Buffer.byteLength(answer.body) < Number(answer.headers.get('content-length'))) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(answer);
    };
    const onClose = (): void => reject(new Error(`closed before an answer: ${received}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

const HEALTH = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

describe('shutdown', () => {
  it('refuses a request arriving on a keep-alive connection after close began: 503 / 10002, Connection: close', async () => {
    const server = await startServer();
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    let closing: Promise<void> | undefined;
    try {
      await once(socket, 'connect');
      socket.write(HEALTH);
      const first = await readAnswer(socket);
      assert.equal(first.status, 200, first.body);
      assert.notEqual(first.headers.get('connection'), 'close');

      closing = server.app.close();
      // Written before the event loop turns again, so it is on the (idle) connection long
      // before the idle connections are closed.
      const answered = readAnswer(socket);
      socket.write(HEALTH);
      const refused = await answered;
      assert.equal(refused.status, 503, refused.body);
      assert.equal(refused.headers.get('connection'), 'close');
      assert.deepEqual(Object.keys(JSON.parse(refused.body)).sort(), ['code', 'error']);
      assert.equal(JSON.parse(refused.body).code, 10002);
      if (!socket.destroyed) await withTimeout(once(socket, 'close'), 5000, 'the socket to close');
      await withTimeout(closing, 5000, 'app.close()');
    } finally {
      socket.destroy();
      await (closing ?? Promise.resolve());
      await server.close(true);
    }
  });
});

describe('SIGTERM', () => {
  it('answers every request in flight, refuses new ones with 10002 and exits 0 within the grace period', async () => {
    const dataDir = tempDataDir();
    let node: NodeProcess | undefined;
    let reopened: NodeProcess | undefined;
    const agents: Agent[] = [];
    try {
      node = await startNodeProcess([
        '--data-dir',
        dataDir,
        '--shutdown-grace-ms',
        String(GRACE_MS),
        // 20 clients sending as fast as they are answered: not what the rate limit is about.
        '--send-rate',
        '0',
      ]);
      const bearer = await token(node, 'alice');
      const created = await node.post('/inner/create_conversation', {
        conversation_type: 1,
        sessions: ['alice'],
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const conversationId = (created.body as { data: { ConversationId: string } }).data
        .ConversationId;

      const outcomes: Outcome[] = [];
      let answers = 0;
      let signalled: (() => void) | undefined;
      const enoughAnswers = new Promise<void>((resolve) => (signalled = resolve));
      const url = node.url;
      // Each client keeps one keep-alive socket busy until the server stops answering.
      const loops = Array.from({ length: CLIENTS }, async (_, client) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        agents.push(agent);
        for (let n = 0; ; n++) {
          const outcome = await post(
            agent,
            url,
            '/send_msg',
            { conversation_id: conversationId, status: 0, type: 1, content: `c${client}-${n}` },
            bearer,
          );
          outcomes.push(outcome);
          if (outcome.kind === 'closed') return;
          if (++answers === ANSWERS_BEFORE_SIGTERM) signalled?.();
        }
      });
      await withTimeout(enoughAnswers, 30_000, 'the clients to get going');
      // A client that promised a body and sends it one byte at a time would hold its socket.
      const slow = await slowRequest(node.url);
      const signalledAt = Date.now();
      const exit = await node.kill('SIGTERM');
      const exitMs = Date.now() - signalledAt;
      assert.deepEqual(exit, { code: 0, signal: null }, node.stderr());
      assert.ok(exitMs < GRACE_MS + 1000, `exited after ${exitMs} ms`);
      await withTimeout(slow.closed, 5000, "the slow request's socket to close");
      // The process is gone, so every socket is closed: a loop still waiting is a hung request.
      await withTimeout(Promise.all(loops), 5000, 'every request to complete or lose its socket');

      // A request on a connection that was busy a moment ago was on its way when the server
      // began to close: it must be answered, not reset. (A fresh connection may be refused.)
      const unanswered = outcomes.filter((o) => o.kind === 'closed' && o.reused);
      assert.deepEqual(unanswered, [], 'requests in flight on keep-alive connections');
      const accepted: string[] = [];
      let refused = 0;
      for (const o of outcomes) {
        if (o.kind === 'closed') continue;
        const body = JSON.parse(o.text) as {
          code: number;
          error?: string;
          data?: { MsgID: string };
        };
        if (o.status === 200) {
          assert.equal(body.code, 0, o.text);
          assert.match(body.data?.MsgID ?? '', MSG_ID);
          accepted.push(body.data!.MsgID);
        } else {
          assert.equal(o.status, 503, o.text);
          assert.deepEqual(Object.keys(body).sort(), ['code', 'error'], o.text);
          assert.equal(body.code, 10002, o.text);
          assert.equal(o.connection, 'close', 'a refusal while closing ends the connection');
          refused++;
        }
      }
      assert.ok(accepted.length >= ANSWERS_BEFORE_SIGTERM, `accepted ${accepted.length}`);
      // Whether a request reaches the server after SIGTERM is up to timing: the test below
      // shows the refusal deterministically; here each one seen is checked above.
      void refused;

      reopened = await startNodeProcess(['--data-dir', dataDir]);
      const stored = await storedIds(reopened, await token(reopened, 'alice'), conversationId);
      const lost = accepted.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], 'every message answered 200 is in the store');
    } finally {
      for (const agent of agents) agent.destroy();
      await node?.kill('SIGKILL');
      await reopened?.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
