import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { API_DOC_PATH, renderApiMarkdown } from '../../scripts/api-doc.js';
import { HIGHEST_MSG_ID, LOWEST_MSG_ID, request } from '../helpers/http.js';
import { poll } from '../helpers/poll-client.js';
import { notifyUrl } from '../helpers/push-inbox.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { WsClient, wsRefusal } from '../helpers/ws-client.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers | IncomingHttpHeaders;
  readonly body: unknown;
}

interface Operation {
  readonly responses: Record<string, { content?: Record<string, unknown> }>;
}

type Document = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

/** `/a/b` → `~1a~1b`, URI-encoded: a JSON pointer segment inside a `$ref` fragment. */
function pointer(segment: string): string {
  return encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'));
}

function mediaType(headers: Headers | IncomingHttpHeaders): string | undefined {
  const value = headers instanceof Headers ? headers.get('content-type') : headers['content-type'];
  return value === null || value === undefined ? undefined : value.split(';')[0]!.trim();
}

/**
 * Checks real answers against the document: the status must be documented for that route, the
 * media type among the documented ones, and a JSON body valid against the documented schema.
 */
class Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** `METHOD path` → statuses seen. */
  readonly seen = new Map<string, Set<number>>();

  constructor(readonly doc: Document) {
    this.ajv.addSchema(doc, 'openapi.json');
  }

  check(method: string, path: string, answer: Answer): void {
    const where = `${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`;
    const op = this.doc.paths[path]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} is not in the document`);
    const documented = op.responses[String(answer.status)];
    assert.ok(documented, `undocumented status: ${where}`);
    const key = `${method} ${path}`;
    this.seen.set(key, (this.seen.get(key) ?? new Set()).add(answer.status));
    if (documented.content === undefined) return;
    const type = mediaType(answer.headers);
    assert.ok(type !== undefined && type in documented.content, `media type ${type}: ${where}`);
    if (type !== 'application/json') return;
    const ref =
      `openapi.json#/paths/${pointer(path)}/${method.toLowerCase()}/responses/` +
      `${answer.status}/content/${pointer('application/json')}/schema`;
    let validate = this.compiled.get(ref);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    assert.ok(validate(answer.body), `${where}: ${this.ajv.errorsText(validate.errors)}`);
  }
}

describe('OpenAPI document', () => {
  let server: TestServer;
  let doc: Document;
  let contract: Contract;

  before(async () => {
    // The demo on: every optional route is registered, so every route is documented.
    server = await startServer({ demo: true });
    const res = await request(server.url + '/openapi.json', { method: 'GET' });
    assert.equal(res.status, 200);
    doc = res.body as Document;
    contract = new Contract(doc);
    contract.check('GET', '/openapi.json', res);
  });

  after(() => server.close(true));

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('lists the seed endpoints and every endpoint added since', () => {
    const expected = [
      'GET /',
      'GET /healthz',
      'GET /livez',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /notify',
      ...[
        '/send_msg',
        '/check_joined_conversation',
        '/get_joined_conversation',
        '/get_conversation_detail',
        '/join_conversation',
        '/create_conversation',
        '/leave_conversation',
        '/get_lastone_msgid',
        '/get_conversation_msg_by_range',
        '/get_conversation_30msg_before_the_id',
        '/get_conversation_30msg_after_the_id',
        '/get_conversation_last_30_msg',
        '/get_conversation_lastone_msg',
        '/mark_read',
        '/get_conversation_list',
        '/get_conversation_members',
        '/inner/get_token',
        '/inner/create_conversation',
        '/inner/kickout_conversation',
        '/inner/join_conversation',
        '/inner/set_archive_conversations',
        '/inner/send_msg',
        '/inner/get_members',
        '/inner/get_presence',
        '/inner/revoke_session',
        '/demo/token',
      ].map((p) => `POST ${p}`),
      'GET /demo',
      'GET /demo/{file}',
    ].sort();
    const listed = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(listed, expected);
  });

  it('takes request bodies from the schemas the routes validate with', async () => {
    const body = (doc.paths['/send_msg']!.post as unknown as Record<string, unknown>)
      .requestBody as { content: { 'application/json': { schema: { required: string[] } } } };
    assert.deepEqual(body.content['application/json'].schema.required, [
      'conversation_id',
      'status',
      'type',
      'content',
    ]);
    // What the document calls required, the server refuses without.
    const token = await server.token('schema-user');
    const res = await server.post('/send_msg', { conversation_id: 'x', status: 0, type: 1 }, token);
    assert.equal(res.status, 400);
    contract.check('POST', '/send_msg', res);
  });

  it('is what docs/api.md renders (npm run docs:api regenerates it)', async () => {
    const page = readFileSync(API_DOC_PATH, 'utf8');
    assert.equal(page, await renderApiMarkdown(doc as never), 'docs/api.md is stale');
    for (const path of Object.keys(doc.paths)) assert.ok(page.includes(` ${path}\``), path);
  });

  it('matches the real answers of every route, successes and failures', async () => {
    const alice = await server.token('alice');
    const carol = await server.token('carol');
    const post = async (path: string, body: unknown, token?: string): Promise<Answer> => {
      const res = await server.post(path, body, token);
      contract.check('POST', path, res);
      return res;
    };
    /** GETs `url`; `path` is its path in the document (`/demo/{file}` for `/demo/app.js`). */
    const get = async (url: string, headers: Record<string, string> = {}, path = url) => {
      const res = await request(server.url + url, { method: 'GET', headers });
      contract.check('GET', path, res);
      return res;
    };

    // Operations and probes.
    await get('/');
    await get('/healthz');
    await get('/livez');
    await get('/readyz');
    await get('/metrics');
    assert.equal((await get('/metrics', { origin: 'https://evil.example' })).status, 403);
    await get('/demo');
    await get('/demo/app.js', {}, '/demo/{file}');
    assert.equal((await get('/demo/nope.js', {}, '/demo/{file}')).status, 404);
    await post('/demo/token', { session: 'alice', platform: 1 });

    // Inner endpoints.
    await post('/inner/get_token', { session: 'bob', platform: 2 });
    assert.equal((await post('/inner/get_token', { session: '', platform: 2 })).status, 400);
    const created = await post('/inner/create_conversation', {
      conversation_type: 1,
      sessions: ['alice', 'bob'],
    });
    const cid = (created.body as { data: { ConversationId: string } }).data.ConversationId;
    assert.equal(
      (await post('/inner/create_conversation', { conversation_type: 1, sessions: [] })).status,
      400,
    );
    assert.equal(
      (await post('/inner/create_conversation', { conversation_type: 16, sessions: ['a'] })).status,
      400,
    );
    await post('/inner/send_msg', {
      conversation_id: cid,
      from_session: 'system',
      status: 0,
      type: 9,
      content: 'welcome',
    });
    await post('/inner/join_conversation', { conversation_id: cid, sessions: ['dave'] });
    await post('/inner/kickout_conversation', { conversation_id: cid, sessions: ['dave'] });
    assert.equal(
      (await post('/inner/kickout_conversation', { conversation_id: 'nope', sessions: ['x'] }))
        .status,
      404,
    );
    await post('/inner/set_archive_conversations', { conversation_ids: [cid], is_archive: false });
    await post('/inner/get_members', { conversation_id: cid });
    await post('/inner/get_presence', { sessions: ['alice', 'nobody'] });
    await post('/inner/revoke_session', { session: 'zed', platform: 3 });
    await post('/inner/revoke_session', { session: 'zed' });
    const forbidden = await request(server.url + '/inner/get_presence', {
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ sessions: [] }),
    });
    assert.equal(forbidden.status, 403);
    contract.check('POST', '/inner/get_presence', forbidden);

    // Public endpoints.
    const sent = await post(
      '/send_msg',
      { conversation_id: cid, status: 0, type: 1, content: 'hi', client_msg_id: 'k1' },
      alice,
    );
    const msgId = (sent.body as { data: { MsgID: string } }).data.MsgID;
    assert.equal((await post('/send_msg', { conversation_id: cid })).status, 401);
    const notMember = { conversation_id: cid, status: 0, type: 1, content: 'x' };
    assert.equal((await post('/send_msg', notMember, carol)).status, 403);
    const unknown = { conversation_id: 'no-such', status: 0, type: 1, content: 'x' };
    assert.equal((await post('/send_msg', unknown, alice)).status, 404);
    const huge = { conversation_id: cid, status: 0, type: 1, content: 'x'.repeat(70_000) };
    assert.equal((await post('/send_msg', huge, alice)).status, 413);
    await post('/check_joined_conversation', { conversation_id: cid }, alice);
    await post('/get_joined_conversation', {}, alice);
    await post('/get_conversation_detail', { conversation_id: cid }, alice);
    assert.equal(
      (await post('/get_conversation_detail', { conversation_id: 'no-such' }, alice)).status,
      404,
    );
    const mine = await post('/create_conversation', { conversation_type: 0 }, carol);
    const own = (mine.body as { data: { ConversationId: string } }).data.ConversationId;
    assert.equal(
      (await post('/create_conversation', { conversation_type: 99 }, carol)).status,
      400,
    );
    await post('/join_conversation', { conversation_id: own }, alice);
    await post('/leave_conversation', { conversation_id: own }, alice);
    await post('/get_lastone_msgid', { conversation_id: cid }, alice);
    await post('/get_lastone_msgid', { conversation_id: own }, carol);
    const range = { conversation_id: cid, start_msg_id: LOWEST_MSG_ID, end_msg_id: HIGHEST_MSG_ID };
    await post('/get_conversation_msg_by_range', { ...range, desc: true }, alice);
    const around = { conversation_id: cid, msg_id: msgId };
    await post('/get_conversation_30msg_before_the_id', around, alice);
    await post('/get_conversation_30msg_after_the_id', { ...around, msg_id: LOWEST_MSG_ID }, alice);
    await post('/get_conversation_last_30_msg', { conversation_id: cid }, alice);
    await post('/get_conversation_lastone_msg', { conversation_id: cid }, alice);
    assert.equal(
      (await post('/get_conversation_last_30_msg', { conversation_id: cid }, carol)).status,
      403,
    );
    await post('/mark_read', around, alice);
    await post('/get_conversation_list', {}, alice);
    await post('/get_conversation_members', { conversation_id: cid }, alice);
    assert.equal(
      (await post('/get_conversation_members', { conversation_id: 7 }, alice)).status,
      400,
    );

    // Push: long-poll (a message, a batch, none), SSE, WebSocket, and refusals.
    const bob = await server.token('bob', 2);
    const answers = [
      await poll(server, { token: bob, timeout: 0, last_msg_id: LOWEST_MSG_ID }),
      await poll(server, { token: bob, timeout: 0, last_msg_id: LOWEST_MSG_ID, batch: 10 }),
      await poll(server, { token: bob, timeout: 0 }),
      await poll(server, { token: bob, timeout: 99 }),
      await poll(server, { token: 'nonsense', timeout: 0 }),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 204, 400, 401],
    );
    for (const a of answers) contract.check('GET', '/notify', a);
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token: bob }));
    contract.check('GET', '/notify', { status: 200, headers: sse.headers, body: undefined });
    await sse.close();
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token: bob }));
    contract.check('GET', '/notify', { status: 101, headers: {}, body: undefined });
    await ws.close();
    const refused = await wsRefusal(
      notifyUrl(server, 'ws', { token: bob }).replace('protoc=ws', 'protoc=nope'),
    );
    contract.check('GET', '/notify', refused);
    assert.equal(refused.status, 400);

    // Every documented route was called, and answered with success at least once.
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const key = `${method.toUpperCase()} ${path}`;
        const statuses = [...(contract.seen.get(key) ?? [])];
        assert.ok(
          statuses.some((s) => s < 300),
          `${key} was not exercised: ${statuses.join()}`,
        );
      }
    }
  });
});
