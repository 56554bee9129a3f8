import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  HIGHEST_MSG_ID,
  LOWEST_MSG_ID,
  expectFailure,
  expectOk,
  postRaw,
} from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { ApiResponse, TestServer } from '../helpers/server.js';

/** Marks a field to leave out of the body. */
const MISSING = Symbol('missing');
type Value = unknown;

interface Endpoint {
  readonly path: string;
  readonly inner: boolean;
  /** A body the endpoint accepts, so each broken variant proves its own refusal. */
  readonly valid: () => Record<string, unknown>;
  /** field → values answered 10001 (or the code given by `codeFor`). */
  readonly bad: Readonly<Record<string, readonly Value[]>>;
}

function label(value: Value): string {
  if (value === MISSING) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function withField(body: Record<string, unknown>, field: string, value: Value): string {
  const copy: Record<string, unknown> = { ...body };
  if (value === MISSING) delete copy[field];
  else copy[field] = value;
  return JSON.stringify(copy);
}

const int32Bad = [MISSING, null, '1', 1.5, true, 2147483648, -2147483649, [1], {}];
const conversationIdBad = [MISSING, null, '', 'x'.repeat(65), 5, true, ['id'], {}];
const msgIdBad = [
  MISSING,
  null,
  '',
  'abc',
  '2222a-2222-2222-222',
  '22222-2222-2222-22I',
  '22222-2222-2222-220',
  '22222-2222-2222-221',
  '22222-2222-2222-22',
  '22222-2222-2222-2222',
  '222222-222-2222-222',
  '2222222222222222222',
  5,
];
const descBad = [null, 'true', 1, 0, []];
const sessionsBad = [
  null,
  's',
  [1],
  [''],
  [null],
  [['s']],
  Array.from({ length: 1001 }, (_, i) => `s${i}`),
  ['x'.repeat(129)],
  ['€'.repeat(43)],
];
const conversationTypeBad = [MISSING, null, '1', 1.5, true, [0], {}];

describe('invalid input over HTTP', () => {
  let server: TestServer;
  let token: string;
  let conversationId: string;
  let spareConversationId: string;

  function call(endpoint: Endpoint, body: string): Promise<ApiResponse> {
    return postRaw(server.url + endpoint.path, body, endpoint.inner ? undefined : token);
  }

  async function stillServes(): Promise<void> {
    const res = await server.post(
      '/check_joined_conversation',
      { conversation_id: conversationId },
      token,
    );
    assert.deepEqual(expectOk(res), { Joined: true });
  }

  const byConversation = (path: string): Endpoint => ({
    path,
    inner: false,
    valid: () => ({ conversation_id: conversationId }),
    bad: { conversation_id: conversationIdBad },
  });

  const endpoints: Endpoint[] = [
    {
      path: '/send_msg',
      inner: false,
      valid: () => ({ conversation_id: conversationId, status: 0, type: 0, content: 'x' }),
      bad: {
        conversation_id: conversationIdBad,
        status: int32Bad,
        type: int32Bad,
        content: [MISSING, null, 5, ['x'], {}, true],
      },
    },
    byConversation('/check_joined_conversation'),
    byConversation('/get_conversation_detail'),
    byConversation('/join_conversation'),
    byConversation('/get_lastone_msgid'),
    {
      ...byConversation('/leave_conversation'),
      valid: () => ({ conversation_id: spareConversationId }),
    },
    {
      path: '/create_conversation',
      inner: false,
      valid: () => ({ conversation_type: 0, sessions: ['bob'] }),
      bad: { conversation_type: conversationTypeBad, sessions: sessionsBad },
    },
    {
      path: '/get_conversation_msg_by_range',
      inner: false,
      valid: () => ({
        conversation_id: conversationId,
        start_msg_id: LOWEST_MSG_ID,
        end_msg_id: HIGHEST_MSG_ID,
        desc: false,
      }),
      bad: {
        conversation_id: conversationIdBad,
        start_msg_id: msgIdBad,
        end_msg_id: msgIdBad,
        desc: descBad,
      },
    },
    ...['/get_conversation_30msg_before_the_id', '/get_conversation_30msg_after_the_id'].map(
      (path): Endpoint => ({
        path,
        inner: false,
        valid: () => ({ conversation_id: conversationId, msg_id: LOWEST_MSG_ID, desc: true }),
        bad: { conversation_id: conversationIdBad, msg_id: msgIdBad, desc: descBad },
      }),
    ),
    ...['/get_conversation_last_30_msg', '/get_conversation_lastone_msg'].map((path): Endpoint => ({
      path,
      inner: false,
      valid: () => ({ conversation_id: conversationId, desc: true }),
      bad: { conversation_id: conversationIdBad, desc: descBad },
    })),
    {
      path: '/inner/get_token',
      inner: true,
      valid: () => ({ session: 's', platform: 255 }),
      bad: {
        session: [MISSING, null, '', 5, 'x'.repeat(129), '€'.repeat(43), ['s']],
        platform: [MISSING, null, -1, 256, '1', 1.5, true],
      },
    },
    {
      path: '/inner/create_conversation',
      inner: true,
      valid: () => ({ conversation_type: 0, sessions: ['s'] }),
      bad: { conversation_type: conversationTypeBad, sessions: [MISSING, ...sessionsBad] },
    },
    ...['/inner/kickout_conversation', '/inner/join_conversation'].map((path): Endpoint => ({
      path,
      inner: true,
      valid: () => ({ conversation_id: conversationId, sessions: ['zed'] }),
      bad: { conversation_id: conversationIdBad, sessions: [MISSING, ...sessionsBad] },
    })),
    {
      path: '/inner/set_archive_conversations',
      inner: true,
      valid: () => ({ conversation_ids: [conversationId], is_archive: false }),
      bad: {
        conversation_ids: [MISSING, null, 'x', [1], [''], [null], ['x'.repeat(65)]],
        is_archive: [MISSING, null, 'true', 1],
      },
    },
  ];

  before(async () => {
    server = await startServer();
    token = await server.token('alice');
    conversationId = await server.createConversation(['alice']);
    spareConversationId = await server.createConversation(['alice']);
  });

  after(() => server.close(true));

  it('accepts the valid body of every endpoint', async () => {
    for (const endpoint of endpoints) {
      const res = await call(endpoint, JSON.stringify(endpoint.valid()));
      assert.equal(res.status, 200, `${endpoint.path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 0);
    }
  });

  it('answers 10001 to a missing, null, empty, mistyped or out-of-range field', async () => {
    let cases = 0;
    for (const endpoint of endpoints) {
      for (const [field, values] of Object.entries(endpoint.bad)) {
        for (const value of values) {
          const res = await call(endpoint, withField(endpoint.valid(), field, value));
          try {
            expectFailure(res, 10001);
          } catch (err) {
            assert.fail(`${endpoint.path} ${field}=${label(value)}: ${(err as Error).message}`);
          }
          cases += 1;
        }
      }
    }
    assert.ok(cases > 200, `${cases} cases`);
    await stillServes();
  });

  it('answers 10001 to a body that is not a JSON object', async () => {
    const bodies = [
      '',
      ' ',
      '[]',
      '"text"',
      '5',
      'true',
      'null',
      '{',
      '{"a":1,}',
      "{'a':1}",
      'NaN',
    ];
    for (const endpoint of endpoints) {
      for (const body of bodies) {
        const res = await call(endpoint, body);
        try {
          expectFailure(res, 10001);
        } catch (err) {
          assert.fail(`${endpoint.path} body ${JSON.stringify(body)}: ${(err as Error).message}`);
        }
      }
    }
    await stillServes();
  });

  it('answers 10001 to numbers JSON cannot hold as integers', async () => {
    const send = endpoints[0] as Endpoint;
    const base = `"conversation_id":"${conversationId}","type":0,"content":"x"`;
    expectFailure(await call(send, `{${base},"status":1e400}`), 10001);
    expectFailure(await call(send, `{${base},"status":-1e400}`), 10001);
    expectOk(await call(send, `{${base},"status":1.0}`));
    const create = endpoints.find((e) => e.path === '/inner/create_conversation') as Endpoint;
    expectFailure(await call(create, '{"conversation_type":1e400,"sessions":["s"]}'), 10001);
  });

  it('answers 90010 to an integer conversation type outside 0..15', async () => {
    for (const path of ['/create_conversation', '/inner/create_conversation']) {
      const endpoint = endpoints.find((e) => e.path === path) as Endpoint;
      for (const type of [16, -1, 2147483648, 1e20]) {
        expectFailure(
          await call(endpoint, withField(endpoint.valid(), 'conversation_type', type)),
          90010,
        );
      }
      for (const type of [0, 15]) {
        expectOk(await call(endpoint, withField(endpoint.valid(), 'conversation_type', type)));
      }
    }
  });

  it('answers 90011 to /inner/create_conversation without sessions', async () => {
    expectFailure(
      await server.post('/inner/create_conversation', { conversation_type: 0, sessions: [] }),
      90011,
    );
  });

  it('accepts the largest valid ids and lists', async () => {
    const id64 = 'x'.repeat(64);
    expectFailure(
      await server.post('/get_conversation_detail', { conversation_id: id64 }, token),
      10005,
    );
    const ascii128 = 'a'.repeat(128);
    const utf8128 = '€'.repeat(42) + 'ab';
    for (const session of [ascii128, utf8128]) {
      const t = await server.token(session, 0);
      const id = expectOk(
        await server.post('/create_conversation', { conversation_type: 0 }, t),
      ).ConversationId;
      assert.deepEqual(
        expectOk(await server.post('/check_joined_conversation', { conversation_id: id }, t)),
        { Joined: true },
      );
    }
    const thousand = Array.from({ length: 1000 }, (_, i) => `member-${i}`);
    expectOk(
      await server.post('/inner/create_conversation', { conversation_type: 0, sessions: thousand }),
    );
    expectOk(
      await server.post(
        '/create_conversation',
        { conversation_type: 0, sessions: thousand },
        token,
      ),
    );
  });

  it('ignores fields the contract does not name', async () => {
    const res = await server.post(
      '/send_msg',
      { conversation_id: conversationId, status: 0, type: 0, content: 'x', extra: { a: [1, 2] } },
      token,
    );
    expectOk(res);
  });
});
