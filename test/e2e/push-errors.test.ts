import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.js';
import { TokenService, loadOrCreateKey } from '../../src/services/token-service.js';
import {
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  poll,
  wsRefusal,
} from '../helpers/push-clients.js';
import { pollWaits, sendMsg } from '../helpers/push-fixtures.js';
import type { NotifyParams, Protocol, PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

/** An HTTP answer to `GET /notify` as any protocol sees it. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly allowOrigin: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked field by field
  readonly body: any;
}

function assertEnvelope(answer: Answer, status: number, code: number, label: string): void {
  const shown = `${label}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`;
  assert.equal(answer.status, status, shown);
  assert.match(answer.contentType, /^application\/json/, shown);
  assert.deepEqual(Object.keys(answer.body ?? {}).sort(), ['code', 'error'], shown);
  assert.equal(answer.body.code, code, shown);
  assert.equal(typeof answer.body.error, 'string', shown);
}

describe('push errors and CORS', () => {
  let server: TestServer;
  let token: string;
  const open = new Set<PushClient>();

  before(async () => {
    server = await startServer();
    token = await server.token('alice');
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(() => server.close(true));

  /** `GET /notify` with `protoc` (as is) and `params`: a WebSocket handshake when `upgrade`. */
  async function ask(
    protoc: string,
    params: NotifyParams,
    upgrade: boolean,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    if (upgrade) {
      const r = await wsRefusal(
        notifyUrl(server, 'ws', { ...params }).replace('protoc=ws', `protoc=${protoc}`),
        headers,
      );
      return {
        status: r.status,
        contentType: String(r.headers['content-type']),
        allowOrigin: r.headers['access-control-allow-origin'] as string | undefined,
        body: r.body,
      };
    }
    const url = new URL(notifyUrl(server, protoc, params));
    const res = await fetch(url, { headers });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      allowOrigin: res.headers.get('access-control-allow-origin') ?? undefined,
      body: text === '' ? undefined : JSON.parse(text),
    };
  }

  const signedBy = (key: string, nowSec: number): Promise<string> =>
    new TokenService(key, 60, { ...systemClock, now: () => nowSec * 1000 }).issue('alice', 1);

  it('refuses an out-of-range or non-integer poll timeout with 400 and code 10001', async () => {
    for (const timeout of ['61', '-1', 'abc', '1.5', '', '1000']) {
      assertEnvelope(
        await ask('poll', { token, timeout }, false),
        400,
        10001,
        `timeout=${timeout}`,
      );
    }
  });

  it('refuses an out-of-range or non-integer poll batch with 400 and code 10001', async () => {
    for (const batch of ['0', '101', '-1', 'x', '2.0']) {
      assertEnvelope(await ask('poll', { token, batch }, false), 400, 10001, `batch=${batch}`);
    }
  });

  it('accepts the limits of timeout (0, 60) and batch (1, 100)', async () => {
    for (const params of [{ timeout: 0 }, { timeout: 0, batch: 1 }, { timeout: 0, batch: 100 }]) {
      assert.equal((await poll(server, { token, ...params })).status, 204, JSON.stringify(params));
    }
    const abort = new AbortController();
    const waiting = poll(server, { token, timeout: 60 }, { signal: abort.signal });
    await pollWaits(server, 'alice', 1, 'timeout=60 to wait');
    abort.abort();
    await assert.rejects(waiting);
  });

  for (const upgrade of [false, true]) {
    const how = upgrade ? 'a WebSocket handshake' : 'a plain GET';
    it(`refuses an unsupported protoc on ${how} with 400 and code 90013`, async () => {
      for (const protoc of ['foo', 'WS', 'http', '']) {
        assertEnvelope(await ask(protoc, { token }, upgrade), 400, 90013, `protoc=${protoc}`);
      }
    });

    it(`refuses a malformed last_msg_id on ${how} with 400 and code 10001`, async () => {
      const protocols: Protocol[] = upgrade ? ['ws'] : ['sse', 'poll'];
      for (const protoc of protocols) {
        for (const id of ['nope', '22222-2222-2222-22', '11111-1111-1111-111']) {
          assertEnvelope(
            await ask(protoc, { token, last_msg_id: id, timeout: 0 }, upgrade),
            400,
            10001,
            `${protoc} ${id}`,
          );
        }
      }
    });

    it(`refuses a missing, malformed, wrongly signed or expired token on ${how} with 401 and code 10101`, async () => {
      const key = loadOrCreateKey(server.settings.jwtKey, server.dataDir);
      const now = Math.floor(Date.now() / 1000);
      const bad: Array<[string, string | undefined]> = [
        ['missing', undefined],
        ['malformed', 'not-a-jwt'],
        ['wrong key', await signedBy('another key', now)],
        ['expired', await signedBy(key, now - 3600)],
        ['tampered', token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')],
      ];
      const protocols: Protocol[] = upgrade ? ['ws'] : ['sse', 'poll'];
      for (const protoc of protocols) {
        for (const [label, t] of bad) {
          assertEnvelope(
            await ask(protoc, { token: t, timeout: 0 }, upgrade),
            401,
            10101,
            `${protoc} ${label}`,
          );
          if (t !== undefined) {
            const header = { authorization: `Bearer ${t}` };
            assertEnvelope(
              await ask(protoc, { timeout: 0 }, upgrade, header),
              401,
              10101,
              `${protoc} ${label} (header)`,
            );
          }
        }
      }
    });
  }

  it('answers an upgrade to an unknown path with 404 and code 10404', async () => {
    const r = await wsRefusal(
      server.url.replace(/^http/, 'ws') + `/nowhere?protoc=ws&token=${token}`,
    );
    assertEnvelope(
      { ...r, contentType: String(r.headers['content-type']), allowOrigin: undefined },
      404,
      10404,
      'unknown path',
    );
  });

  it('takes the token from Authorization: Bearer on every protocol', async () => {
    const conversationId = await server.createConversation(['bearer', 'alice']);
    const bearer = { authorization: `Bearer ${await server.token('bearer', 1)}` };
    const ws = await WsClient.open(notifyUrl(server, 'ws'), {
      headers: bearer,
    });
    open.add(ws);
    const id = await sendMsg(server, token, conversationId, 'ws');
    await ws.waitForMessages(1);
    assert.equal(ws.messages[0]?.MsgId, id);
    const bearerSse = { authorization: `Bearer ${await server.token('bearer', 2)}` };
    const sse = await SseClient.open(notifyUrl(server, 'sse', {}), bearerSse);
    open.add(sse);
    const second = await sendMsg(server, token, conversationId, 'sse');
    await sse.waitForMessages(1);
    assert.equal(sse.messages[0]?.MsgId, second);
    const bearerPoll = { authorization: `Bearer ${await server.token('bearer', 3)}` };
    const first = await poll(server, { timeout: 0, last_msg_id: id }, { headers: bearerPoll });
    assert.equal(first.body.MsgId, second);
  });

  it('answers an SSE stream and a long-poll with Access-Control-Allow-Origin: *', async () => {
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token }), {
      origin: 'https://elsewhere.example',
    });
    open.add(sse);
    assert.equal(sse.headers['access-control-allow-origin'], '*');
    assert.equal(sse.headers['access-control-allow-credentials'], undefined, 'never credentials');
    const polled = await poll(
      server,
      { token, timeout: 0 },
      { headers: { origin: 'https://elsewhere.example' } },
    );
    assert.equal(polled.headers['access-control-allow-origin'], '*');
  });

  it('answers /notify failures, including refused handshakes, with Access-Control-Allow-Origin: *', async () => {
    for (const upgrade of [false, true]) {
      const answer = await ask(upgrade ? 'ws' : 'sse', { token: 'bad' }, upgrade);
      assert.equal(answer.status, 401);
      assert.equal(answer.allowOrigin, '*', upgrade ? 'refused handshake' : 'plain GET');
    }
  });

  it('answers an OPTIONS /notify preflight allowing any origin and the authorization header', async () => {
    const res = await fetch(`${server.url}/notify?protoc=sse`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://elsewhere.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization, last-event-id',
      },
    });
    assert.ok(res.status === 204 || res.status === 200, `HTTP ${res.status}`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim());
    assert.ok(allowed.includes('authorization'), `allow-headers: ${allowed.join(', ')}`);
    assert.ok(allowed.includes('content-type'), `allow-headers: ${allowed.join(', ')}`);
    assert.ok(
      (res.headers.get('access-control-allow-methods') ?? '').includes('GET'),
      'GET is allowed',
    );
  });

  it('opens every protocol for a valid token (the checks above refuse only what is wrong)', async () => {
    const [ws, sse, pollToken] = await Promise.all([1, 2, 3].map((p) => server.token('valid', p)));
    open.add(await WsClient.open(notifyUrl(server, 'ws', { token: ws })));
    open.add(await SseClient.open(notifyUrl(server, 'sse', { token: sse })));
    assert.equal((await poll(server, { token: pollToken, timeout: 0 })).status, 204);
  });
});
