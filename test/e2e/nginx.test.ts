import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { MSG_ID, request } from '../helpers/http.js';
import { DOCUMENTED_SITE, nginxUnavailable, startNginx } from '../helpers/nginx.js';
import type { Nginx } from '../helpers/nginx.js';
import { PollClient } from '../helpers/poll-client.js';
import { skipReason, waitUntil } from '../helpers/processes.js';
import { notifyUrl } from '../helpers/push-inbox.js';
import { startServer } from '../helpers/server.js';
import type { ApiResponse, TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { WsClient } from '../helpers/ws-client.js';
import { Changes } from '../helpers/wait.js';

/** quick-im's request log lines, parsed, each announced to waiters. */
class RequestLog {
  readonly entries: Record<string, unknown>[] = [];
  readonly changes = new Changes();

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line !== '') this.entries.push(JSON.parse(line) as Record<string, unknown>);
    }
    this.changes.notify();
  }
}

/** A POST through `url` from the local address `from` (any 127/8 address is this host). */
function postFrom(
  from: string,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      localAddress: from,
      agent: false,
      headers: { 'content-type': 'application/json', ...headers },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.end(body);
  });
}

const skip = skipReason(nginxUnavailable());

describe('behind nginx with docs/nginx.conf', { skip }, () => {
  const log = new RequestLog();
  let server: TestServer;
  let nginx: Nginx;
  /** The same server as clients reach it: through nginx. */
  let proxied: TestServer;
  let serverClosed = false;

  before(async () => {
    server = await startServer(
      { trustProxy: ['127.0.0.1'] },
      { logger: pino({ level: 'info' }, log) },
    );
    nginx = await startNginx(DOCUMENTED_SITE, server.url);
    proxied = { ...server, url: nginx.url };
  });

  after(async () => {
    await nginx?.stop();
    if (!serverClosed) await server?.close(true);
  });

  it('pushes a message sent through nginx over ws, sse and poll, unbuffered', async () => {
    // /inner/* directly from loopback, as the backend on this host calls it.
    const alice = await server.token('alice', 1);
    const bob = await server.token('bob', 1);
    const conversationId = await server.createConversation(['alice', 'bob']);

    const ws = await WsClient.open(notifyUrl(proxied, 'ws', { token: bob }));
    const sse = await SseClient.open(notifyUrl(proxied, 'sse', { token: alice }));
    const bobPoll = await server.token('bob', 2);
    const poll = await PollClient.open(proxied, bobPoll);
    try {
      // quick-im writes `: connected` at once: it arrives only if nginx does not buffer.
      await sse.until(() => sse.comments.includes('connected'), 5000, 'the SSE preamble');

      const res = await request(`${nginx.url}/send_msg`, {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
        body: JSON.stringify({
          conversation_id: conversationId,
          status: 0,
          type: 1,
          content: 'hi',
        }),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.code, 0);
      const id = res.body.data.MsgID as string;
      assert.match(id, MSG_ID);

      for (const client of [ws, sse, poll]) {
        await client.waitForIds([id], 5000, 'the message sent through nginx');
        const [msg] = client.messages;
        assert.equal(client.messages.length, 1, client.protocol);
        assert.equal(msg?.Content, 'hi');
        assert.equal(msg?.FromSession, 'alice');
      }
      assert.equal(sse.events.at(-1)?.id, id, 'the SSE event carries its id');

      // The tokens were in the /notify URLs; nginx's access log keeps the path only.
      await waitUntil(
        () => nginx.accessLog().includes('"GET /notify HTTP/1.1" 204'),
        5000,
        'the first poll in nginx access log',
      );
      const accessLog = nginx.accessLog();
      for (const token of [alice, bob, bobPoll]) assert.equal(accessLog.includes(token), false);
      assert.equal(accessLog.includes('token='), false, accessLog);
    } finally {
      await Promise.all([ws.close(), sse.close(), poll.close()]);
    }
  });

  it('refuses /inner/*, /metrics and /demo/token through nginx; direct from loopback works', async () => {
    const body = JSON.stringify({ session: 'carol', platform: 1 });
    const headers = { 'content-type': 'application/json' };
    const refused = [
      '/inner/get_token',
      '/%69nner/get_token',
      '//inner/get_token',
      '/metrics',
      '/demo/token',
    ];
    for (const path of refused) {
      const res: ApiResponse = await request(nginx.url + path, { headers, body });
      assert.equal(res.status, 403, path);
      assert.deepEqual(Object.keys(res.body as object).sort(), ['code', 'error'], path);
      assert.equal(res.body.code, 10003, path);
      assert.match(String(res.headers.get('content-type')), /^application\/json/, path);
    }
    const direct = await request(`${server.url}/inner/get_token`, { headers, body });
    assert.equal(direct.status, 200);
    assert.equal(direct.body.code, 0);
    assert.equal(typeof direct.body.data, 'string');
    const metrics = await request(`${server.url}/metrics`, { method: 'GET' });
    assert.equal(metrics.status, 200);
  });

  it('names the client in X-Forwarded-For, not an address the client forged', async () => {
    const status = await postFrom(
      '127.0.0.2',
      `${nginx.url}/get_joined_conversation?probe=xff`,
      { authorization: `Bearer ${await server.token('dave')}`, 'x-forwarded-for': '192.0.2.7' },
      '',
    );
    assert.equal(status, 200);
    const probe = (): Record<string, unknown> | undefined =>
      log.entries.find((e) => String(e.url).includes('probe=xff'));
    await log.changes.until(() => probe() !== undefined, 5000, 'the request log line');
    assert.equal(probe()?.ip, '127.0.0.2');
  });

  it('keeps a long-poll open past 60 s and redirects plain HTTP to HTTPS', async () => {
    // A poll waits up to 60 s in silence: nginx must wait longer for quick-im's answer.
    const site = readFileSync(DOCUMENTED_SITE, 'utf8');
    const notify = /location = \/notify \{([^}]*)\}/.exec(site)?.[1] ?? '';
    const readTimeout = /proxy_read_timeout (\d+)s;/.exec(notify)?.[1];
    assert.ok(Number(readTimeout) > 60, `proxy_read_timeout in /notify: ${readTimeout}`);

    const res = await fetch(`${nginx.redirectUrl}/send_msg?x=1`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.match(String(res.headers.get('location')), /^https:\/\/[^/]+\/send_msg\?x=1$/);
  });

  it('answers 503 / 10002 in the envelope while quick-im is down', async () => {
    await server.close(true);
    serverClosed = true;
    const res = await request(`${nginx.url}/send_msg`, {
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { code: 10002, error: 'quick-im is unavailable; retry' });
  });
});

describe('docs/deploy.md', () => {
  it('shows docs/nginx.conf exactly as the nginx test runs it', () => {
    const guide = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    const shown = /^```nginx\n([\s\S]*?)^```$/m.exec(guide)?.[1];
    assert.equal(shown, readFileSync(DOCUMENTED_SITE, 'utf8'));
  });
});
