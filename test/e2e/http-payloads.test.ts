import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  expectFailure,
  expectOk,
  parseRawResponse,
  postRaw,
  rawHttp,
  request,
} from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

/** A `/send_msg` body of exactly `bytes` bytes, padded with an ignored field. */
function sendBodyOfSize(conversationId: string, bytes: number): string {
  const base = { conversation_id: conversationId, status: 0, type: 0, content: 'x', pad: '' };
  const padding = bytes - Buffer.byteLength(JSON.stringify(base));
  assert.ok(padding >= 0);
  const body = JSON.stringify({ ...base, pad: 'p'.repeat(padding) });
  assert.equal(Buffer.byteLength(body), bytes);
  return body;
}

describe('request bodies over HTTP', () => {
  let server: TestServer;
  let token: string;
  let conversationId: string;

  const sendUrl = () => server.url + '/send_msg';
  const validSend = () =>
    JSON.stringify({ conversation_id: conversationId, status: 0, type: 0, content: 'x' });

  async function stillServes(): Promise<void> {
    expectOk(await postRaw(sendUrl(), validSend(), token));
  }

  function rawPost(path: string, headers: string[], body: string): Promise<string> {
    const head = [
      `POST ${path} HTTP/1.1`,
      'Host: test',
      `Authorization: Bearer ${token}`,
      'Connection: close',
      ...headers,
    ];
    return rawHttp('127.0.0.1', server.port, `${head.join('\r\n')}\r\n\r\n${body}`);
  }

  before(async () => {
    server = await startServer();
    token = await server.token('alice');
    conversationId = await server.createConversation(['alice']);
  });

  after(() => server.close(true));

  it('accepts a body of exactly 1 MiB and refuses 1 MiB + 1 with 10007', async () => {
    expectOk(await postRaw(sendUrl(), sendBodyOfSize(conversationId, MiB), token));
    expectFailure(await postRaw(sendUrl(), sendBodyOfSize(conversationId, MiB + 1), token), 10007);
    await stillServes();
  });

  it('refuses an oversized chunked body, and a too-large Content-Length before the body', async () => {
    const chunk = 'a'.repeat(64 * 1024);
    const chunks = Array.from({ length: 17 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const chunked = parseRawResponse(
      await rawPost(
        '/send_msg',
        ['Content-Type: application/json', 'Transfer-Encoding: chunked'],
        `${chunks.join('')}0\r\n\r\n`,
      ),
    );
    assert.equal(chunked.status, 413);
    assert.deepEqual(JSON.parse(chunked.body).code, 10007);

    const declared = parseRawResponse(
      await rawPost(
        '/send_msg',
        ['Content-Type: application/json', `Content-Length: ${5 * MiB}`],
        '{',
      ),
    );
    assert.equal(declared.status, 413);
    assert.deepEqual(Object.keys(JSON.parse(declared.body)).sort(), ['code', 'error']);
    assert.equal(JSON.parse(declared.body).code, 10007);
    await stillServes();
  });

  it('obeys a smaller maxBodyBytes', async () => {
    const small = await startServer({ maxBodyBytes: 2048 });
    try {
      const t = await small.token('alice');
      const id = await small.createConversation(['alice']);
      expectOk(await postRaw(small.url + '/send_msg', sendBodyOfSize(id, 2048), t));
      expectFailure(await postRaw(small.url + '/send_msg', sendBodyOfSize(id, 2049), t), 10007);
    } finally {
      await small.close(true);
    }
  });

  it('answers 10001 to a body that is not JSON', async () => {
    const send = (contentType: string | undefined, body: string) =>
      request(sendUrl(), {
        headers: {
          authorization: `Bearer ${token}`,
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
        },
        body,
      });
    expectOk(await send('application/json; charset=utf-8', validSend()));
    for (const contentType of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      undefined,
    ]) {
      const res = await send(contentType, validSend());
      try {
        expectFailure(res, 10001);
      } catch (err) {
        assert.fail(`content-type ${contentType}: ${(err as Error).message}`);
      }
    }
    expectFailure(await send('application/json', 'conversation_id=x'), 10001);
    await stillServes();
  });

  it('treats an empty JSON body as no body: accepted only where the body is optional', async () => {
    expectFailure(await postRaw(sendUrl(), '', token), 10001);
    const url = server.url + '/get_joined_conversation';
    for (const body of ['', '{}', 'null']) {
      assert.deepEqual(expectOk(await postRaw(url, body, token)), {
        Conversations: [conversationId],
      });
    }
    for (const body of ['[]', '"x"', '5', '{'])
      expectFailure(await postRaw(url, body, token), 10001);
  });

  it('survives 100,000 levels of nesting', async () => {
    const depth = 100_000;
    const joinedUrl = server.url + '/get_joined_conversation';
    const unterminated = '['.repeat(depth);
    const arrays = '['.repeat(depth) + ']'.repeat(depth);
    const objects = '{"a":'.repeat(depth / 2) + '1' + '}'.repeat(depth / 2);
    for (const body of [unterminated, arrays, objects]) {
      expectFailure(await postRaw(sendUrl(), body, token), 10001);
      expectFailure(await postRaw(server.url + '/inner/create_conversation', body), 10001);
      if (body !== objects) expectFailure(await postRaw(joinedUrl, body, token), 10001);
    }
    // Deep but valid JSON in a field nobody reads is harmless.
    const deepField = validSend().replace(/}$/, `,"extra":${objects}}`);
    expectOk(await postRaw(sendUrl(), deepField, token));
    const deepProto = validSend().replace(/}$/, `,"__proto__":1,"extra":${objects}}`);
    expectFailure(await postRaw(sendUrl(), deepProto, token), 10001);
    await stillServes();
  });

  it('refuses prototype pollution and pollutes nothing', async () => {
    const base = validSend().slice(0, -1);
    const attacks = [
      `${base},"__proto__":{"polluted":"yes"}}`,
      `${base},"constructor":{"prototype":{"polluted":"yes"}}}`,
      `${base},"nested":{"__proto__":{"polluted":"yes"}}}`,
      `${base},"list":[{"constructor":{"prototype":{"polluted":"yes"}}}]}`,
    ];
    for (const body of attacks) {
      expectFailure(await postRaw(sendUrl(), body, token), 10001);
      expectFailure(
        await postRaw(
          server.url + '/inner/create_conversation',
          '{"conversation_type":0,"sessions":["s"],"__proto__":{"polluted":"yes"}}',
        ),
        10001,
      );
    }
    const polluted = await request(
      `${sendUrl()}?__proto__[polluted]=yes&constructor[prototype][polluted]=yes`,
      {
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: validSend(),
      },
    );
    expectOk(polluted);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    await stillServes();
  });

  it('answers malformed HTTP with the 10001 envelope and keeps serving', async () => {
    const garbage = parseRawResponse(await rawHttp('127.0.0.1', server.port, 'GARBAGE\r\n\r\n'));
    assert.equal(garbage.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(garbage.body)).sort(), ['code', 'error']);
    assert.equal(JSON.parse(garbage.body).code, 10001);

    const hugeHeader = `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`;
    const overflow = parseRawResponse(await rawHttp('127.0.0.1', server.port, hugeHeader));
    assert.equal(overflow.status, 431);
    assert.equal(JSON.parse(overflow.body).code, 10001);

    const badLength = parseRawResponse(
      await rawHttp(
        '127.0.0.1',
        server.port,
        'POST /send_msg HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n{}',
      ),
    );
    assert.equal(badLength.status, 400);
    assert.equal(JSON.parse(badLength.body).code, 10001);
    await stillServes();
  });
});
