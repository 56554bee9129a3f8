import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { postRaw, request } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { ApiResponse, TestServer } from '../helpers/server.js';

/** A pino destination that keeps every line and announces each one. */
class LineCapture extends EventEmitter {
  readonly lines: string[] = [];

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      this.lines.push(line);
      this.emit('line');
    }
  }

  /** Resolves once `count` lines have been written. */
  async waitFor(count: number): Promise<void> {
    while (this.lines.length < count) await once(this, 'line');
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  url?: string;
  statusCode?: number;
}

describe('request logs', () => {
  const capture = new LineCapture();
  let server: TestServer;
  let token: string;
  let conversationId: string;
  const secret = 'top-secret-content-7f3a';

  before(async () => {
    server = await startServer({}, { logger: pino({ level: 'info' }, capture) });
  });

  after(() => server.close(true));

  it('writes one line per request and never a token or message content', async () => {
    const tokens: string[] = [];
    const requests: [string, () => Promise<ApiResponse>][] = [
      [
        '/inner/get_token',
        async () => {
          const res = await server.post('/inner/get_token', { session: 'alice', platform: 1 });
          token = res.body.data;
          tokens.push(token);
          return res;
        },
      ],
      [
        '/inner/create_conversation',
        async () => {
          const res = await server.post('/inner/create_conversation', {
            conversation_type: 0,
            sessions: ['alice'],
          });
          conversationId = res.body.data.ConversationId;
          return res;
        },
      ],
      [
        '/send_msg',
        () =>
          server.post(
            '/send_msg',
            { conversation_id: conversationId, status: 0, type: 0, content: secret },
            token,
          ),
      ],
      [
        '/get_conversation_last_30_msg',
        () =>
          request(`${server.url}/get_conversation_last_30_msg?token=${token}`, {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ conversation_id: conversationId }),
          }),
      ],
      [
        '/get_joined_conversation',
        () =>
          request(`${server.url}/get_joined_conversation?%74oken=${token}&x=1`, { method: 'POST' }),
      ],
      [
        '/get_joined_conversation',
        () => request(`${server.url}/get_joined_conversation?TOKEN=${token}`, { method: 'POST' }),
      ],
      [
        '/send_msg',
        () => postRaw(server.url + '/send_msg', `{"content":"${secret}", broken`, token),
      ],
      [
        '/send_msg',
        () =>
          server.post(
            '/send_msg',
            { conversation_id: conversationId, status: 0, type: 0, content: secret.repeat(4000) },
            token,
          ),
      ],
      [
        '/send_msg',
        async () => {
          const other = `${token.slice(0, -4)}AAAA`;
          tokens.push(other);
          return server.post(
            '/send_msg',
            { conversation_id: conversationId, status: 0, type: 0, content: secret },
            other,
          );
        },
      ],
      ['/nope', () => request(`${server.url}/nope?token=${token}`, { method: 'GET' })],
      ['/healthz', () => request(server.url + '/healthz', { method: 'GET' })],
    ];

    capture.lines.length = 0;
    const statuses: number[] = [];
    for (const [i, [, send]] of requests.entries()) {
      statuses.push((await send()).status);
      await capture.waitFor(i + 1);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 401, 400, 413, 401, 404, 200]);

    const lines = capture.lines.map((l) => JSON.parse(l) as LogLine);
    assert.equal(lines.length, requests.length, capture.text);
    assert.equal(new Set(lines.map((l) => l.reqId)).size, lines.length, 'one line per request id');
    lines.forEach((line, i) => {
      const [path] = requests[i] as [string, unknown];
      assert.equal(line.msg, 'request');
      assert.equal(line.level, 30);
      assert.equal(line.url?.split('?')[0], path);
      assert.equal(line.statusCode, statuses[i]);
      assert.match(line.method ?? '', /^(GET|POST)$/);
    });

    assert.ok(tokens.length === 2 && token !== undefined);
    for (const t of tokens) {
      assert.equal(capture.text.includes(t), false, 'a token reached the log');
      // Not even its signature alone.
      assert.equal(capture.text.includes(t.split('.')[2] as string), false);
    }
    assert.equal(capture.text.includes(secret), false, 'message content reached the log');
    assert.equal(/bearer/i.test(capture.text), false);
    assert.match(capture.text, /\[redacted\]/);
  });
});
