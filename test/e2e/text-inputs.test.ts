import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { expectFailure, expectOk, postRaw } from '../helpers/http.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres.js';
import { skipReason } from '../helpers/processes.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

// JSON texts as a client would send them, escapes and all: `\u0000` is a NUL, `\ud800` a lone
// high surrogate, `\udc00` a lone low one, `\ud83d\ude00` a well-formed pair (U+1F600).
const NUL = '\\u0000';
const HIGH = '\\ud800';
const LOW = '\\udc00';
const PAIR = '\\ud83d\\ude00';
const BAD = [`a${NUL}b`, `a${HIGH}`, `${LOW}b`, `${PAIR}${HIGH}`];

/** The checks, on a server with whichever store. */
function textRules(server: () => TestServer) {
  let token: string;
  let conversation: string;

  before(async () => {
    token = await server().token('alice');
    conversation = await server().createConversation(['alice']);
  });

  async function newest(): Promise<string[]> {
    const page = expectOk(
      await server().post(
        '/get_conversation_last_30_msg',
        { conversation_id: conversation },
        token,
      ),
    );
    return (page.Msg as { Content: string }[]).map((m) => m.Content);
  }

  it('refuses a NUL or a lone surrogate in content with 400 / 10001, storing nothing', async () => {
    const url = `${server().url}/send_msg`;
    for (const bad of BAD) {
      const body = `{"conversation_id":"${conversation}","status":0,"type":0,"content":"${bad}"}`;
      expectFailure(await postRaw(url, body, token), 10001);
    }
    assert.deepEqual(await newest(), []);
  });

  it('stores and returns well-formed text, astral characters included, as sent', async () => {
    const url = `${server().url}/send_msg`;
    const body = `{"conversation_id":"${conversation}","status":0,"type":0,"content":"ok ${PAIR} é"}`;
    expectOk(await postRaw(url, body, token));
    assert.deepEqual(await newest(), ['ok \u{1F600} é']);
  });

  it('refuses them in session ids, conversation ids and `sessions` entries', async () => {
    const base = server().url;
    for (const bad of BAD) {
      expectFailure(
        await postRaw(`${base}/inner/get_token`, `{"session":"${bad}","platform":1}`),
        10001,
      );
      expectFailure(
        await postRaw(
          `${base}/inner/create_conversation`,
          `{"conversation_type":0,"sessions":["bob","${bad}"]}`,
        ),
        10001,
      );
      expectFailure(
        await postRaw(
          `${base}/create_conversation`,
          `{"conversation_type":0,"sessions":["${bad}"]}`,
          token,
        ),
        10001,
      );
      expectFailure(
        await postRaw(
          `${base}/inner/join_conversation`,
          `{"conversation_id":"${conversation}","sessions":["${bad}"]}`,
        ),
        10001,
      );
      expectFailure(
        await postRaw(`${base}/join_conversation`, `{"conversation_id":"c${bad}"}`, token),
        10001,
      );
      expectFailure(
        await postRaw(
          `${base}/send_msg`,
          `{"conversation_id":"${conversation}${bad}","status":0,"type":0,"content":"x"}`,
          token,
        ),
        10001,
      );
    }
    const joined = expectOk(await server().post('/get_joined_conversation', {}, token));
    assert.deepEqual(joined.Conversations, [conversation], 'no conversation was created');
  });
}

describe('text inputs on SQLite', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close(true));
  textRules(() => server);
});

describe('text inputs on PostgreSQL', { skip: skipReason(postgresUnavailable()) }, () => {
  let postgres: PostgresServer;
  let server: TestServer;
  before(async () => {
    postgres = await startPostgres();
    server = await startServer({
      store: { kind: 'postgres', url: postgres.url },
      jwtKey: randomBytes(32).toString('base64url'),
    });
  });
  after(async () => {
    await server?.close(true);
    await postgres?.destroy();
  });
  textRules(() => server);
});
