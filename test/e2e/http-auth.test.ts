import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startNodeProcess } from '../helpers/child-nodes.js';
import { expectFailure, expectOk, request } from '../helpers/http.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startServer, tempDataDir } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const nowSec = (): number => Math.floor(Date.now() / 1000);
const bytes = (key: string): Uint8Array => new TextEncoder().encode(key);

/** The key the server generated into its data directory, as it signs with it. */
function generatedKey(server: TestServer): string {
  return readFileSync(join(server.dataDir, 'jwt.key'), 'utf8').trim();
}

interface Claims {
  sid?: unknown;
  platform?: unknown;
  iss?: string;
  iat?: number;
  exp?: number;
}

function sign(key: string, claims: Claims): Promise<string> {
  const { iss, iat, exp, ...rest } = claims;
  let jwt = new SignJWT(rest as Record<string, unknown>).setProtectedHeader({
    alg: 'HS256',
    typ: 'JWT',
  });
  if (iss !== undefined) jwt = jwt.setIssuer(iss);
  if (iat !== undefined) jwt = jwt.setIssuedAt(iat);
  if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(bytes(key));
}

describe('authentication over HTTP', () => {
  let server: TestServer;

  const joined = (headers: Record<string, string>, query = '') =>
    request(`${server.url}/get_joined_conversation${query}`, { headers });
  const bearer = (token: string) => joined({ authorization: `Bearer ${token}` });

  before(async () => {
    server = await startServer();
  });

  after(() => server.close(true));

  it('issues an HS256 JWT with sid, platform, iat, exp and iss quick-im', async () => {
    const before = nowSec();
    const res = await server.post('/inner/get_token', { session: 'alice', platform: 3 });
    const token = expectOk(res);
    assert.equal(typeof token, 'string');
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    assert.deepEqual(Object.keys(claims).sort(), ['exp', 'iat', 'iss', 'platform', 'sid']);
    assert.equal(claims.sid, 'alice');
    assert.equal(claims.platform, 3);
    assert.equal(claims.iss, 'quick-im');
    assert.ok((claims.iat as number) >= before && (claims.iat as number) <= nowSec());
    assert.equal((claims.exp as number) - (claims.iat as number), 86_400);
    // Signed with the UTF-8 bytes of the generated key.
    await jwtVerify(token, bytes(generatedKey(server)), {
      algorithms: ['HS256'],
      issuer: 'quick-im',
    });
  });

  it('expires tokens after tokenTtlSec', async () => {
    const short = await startServer({ tokenTtlSec: 1 });
    try {
      const claims = decodeJwt(await short.token('alice'));
      assert.equal((claims.exp as number) - (claims.iat as number), 1);
    } finally {
      await short.close(true);
    }
  });

  it('takes the token as a bearer header or as ?token=', async () => {
    const token = await server.token('alice');
    expectOk(await bearer(token));
    expectOk(await joined({ authorization: `bearer ${token}` }));
    expectOk(await joined({}, `?token=${encodeURIComponent(token)}`));
    expectOk(await joined({}, `?other=1&token=${token}`));
  });

  it('answers 10101 to a missing or malformed token', async () => {
    expectFailure(await joined({}), 10101);
    expectFailure(await joined({}, '?token='), 10101);
    const token = await server.token('alice');
    for (const authorization of [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${token}`,
      `Token ${token}`,
      `Bearer ${token} extra`,
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      `Bearer ${token.slice(0, -2)}`,
      `Bearer ${token}x`,
    ]) {
      try {
        expectFailure(await joined({ authorization }), 10101);
      } catch (err) {
        assert.fail(`Authorization ${JSON.stringify(authorization)}: ${(err as Error).message}`);
      }
    }
    expectFailure(await joined({}, '?token=not-a-jwt'), 10101);
  });

  it('answers 10101 to a token signed with another key, or unsigned', async () => {
    const claims = {
      sid: 'alice',
      platform: 1,
      iss: 'quick-im',
      iat: nowSec(),
      exp: nowSec() + 600,
    };
    expectFailure(await bearer(await sign('some-other-key', claims)), 10101);
    const unsigned = new UnsecuredJWT({ sid: 'alice', platform: 1 })
      .setIssuer('quick-im')
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode();
    expectFailure(await bearer(unsigned), 10101);
    // A fresh data directory means a fresh key: no built-in default key is shared.
    const other = await startServer();
    try {
      assert.notEqual(generatedKey(other), generatedKey(server));
      expectFailure(await bearer(await other.token('alice')), 10101);
    } finally {
      await other.close(true);
    }
  });

  it('answers 10101 to an expired token or one with wrong claims, even when well signed', async () => {
    const key = generatedKey(server);
    const base = { sid: 'alice', platform: 1, iss: 'quick-im', iat: nowSec() - 100 };
    // Control: the same construction with a future expiry is accepted.
    expectOk(await bearer(await sign(key, { ...base, exp: nowSec() + 600 })));
    expectFailure(await bearer(await sign(key, { ...base, exp: nowSec() - 10 })), 10101);
    const future = { ...base, exp: nowSec() + 600 };
    expectFailure(await bearer(await sign(key, { ...future, iss: 'someone-else' })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, iss: undefined })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, sid: undefined })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, sid: '' })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, sid: 42 })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, platform: '1' })), 10101);
    expectFailure(await bearer(await sign(key, { ...future, exp: undefined })), 10101);
  });

  it('refuses a token it accepted before, once the token expires', async () => {
    // Its own server on a clock the test moves: expiry is read from the app's clock.
    const clock = new ManualClock();
    const timed = await startServer({}, { clock });
    try {
      const key = generatedKey(timed);
      const exp = Math.floor(clock.now() / 1000) + 2;
      const token = await sign(key, {
        sid: 'alice',
        platform: 1,
        iss: 'quick-im',
        iat: exp - 60,
        exp,
      });
      const call = () =>
        request(`${timed.url}/get_joined_conversation`, {
          headers: { authorization: `Bearer ${token}` },
        });
      // Accepted a few times (verified once, then from the cache), then refused after exp:
      // first by the cache, then by a full verification.
      for (let i = 0; i < 3; i++) expectOk(await call());
      clock.advance(2000);
      expectFailure(await call(), 10101);
      expectFailure(await call(), 10101);
    } finally {
      await timed.close(true);
    }
  });

  it('answers the token check before reading the body', async () => {
    const res = await request(server.url + '/send_msg', {
      headers: { 'content-type': 'application/json' },
      body: '{ not json',
    });
    expectFailure(res, 10101);
  });

  it('acts as the session in the token, whatever the body says', async () => {
    const alice = await server.token('alice');
    const id = await server.createConversation(['bob']);
    const res = await server.post(
      '/send_msg',
      { conversation_id: id, status: 0, type: 0, content: 'x', session: 'bob', sid: 'bob' },
      alice,
    );
    expectFailure(res, 10004);
  });
});

describe('the signing key', () => {
  it('is generated with mode 0600 and reused after a restart on the same data directory', async () => {
    const dataDir = tempDataDir();
    const first = await startServer({ dataDir });
    const keyPath = join(dataDir, 'jwt.key');
    let token: string;
    let conversationId: string;
    try {
      assert.equal(statSync(keyPath).mode & 0o777, 0o600);
      token = await first.token('alice');
      conversationId = await first.createConversation(['alice']);
      expectOk(
        await first.post(
          '/send_msg',
          { conversation_id: conversationId, status: 0, type: 0, content: 'kept' },
          token,
        ),
      );
    } finally {
      await first.close();
    }
    const key = readFileSync(keyPath, 'utf8');
    const second = await startServer({ dataDir });
    try {
      assert.equal(readFileSync(keyPath, 'utf8'), key);
      const page = expectOk(
        await second.post(
          '/get_conversation_last_30_msg',
          { conversation_id: conversationId },
          token,
        ),
      );
      assert.deepEqual(
        page.Msg.map((m: { Content: string }) => m.Content),
        ['kept'],
      );
    } finally {
      await second.close(true);
    }
  });

  it('is the configured jwtKey when set, and then no key file is written', async () => {
    const jwtKey = 'configured-key-ü';
    const server = await startServer({ jwtKey });
    try {
      assert.equal(existsSync(join(server.dataDir, 'jwt.key')), false);
      const token = await server.token('alice');
      await jwtVerify(token, bytes(jwtKey), { algorithms: ['HS256'], issuer: 'quick-im' });
      const own = await sign(jwtKey, {
        sid: 'carol',
        platform: 2,
        iss: 'quick-im',
        iat: nowSec(),
        exp: nowSec() + 600,
      });
      assert.deepEqual(expectOk(await server.post('/get_joined_conversation', {}, own)), {
        Conversations: [],
      });
    } finally {
      await server.close(true);
    }
  });

  it('is read from --jwt-key-file by the compiled server: its tokens verify against that key', async () => {
    const root = tempDataDir();
    const jwtKey = 'a key from a file, 32 bytes or more: ü';
    const keyFile = join(root, 'jwt-key.txt');
    writeFileSync(keyFile, `${jwtKey}\n`, { mode: 0o600 });
    const dataDir = join(root, 'data');
    const node = await startNodeProcess(['--jwt-key-file', keyFile, '--data-dir', dataDir]);
    try {
      const token = expectOk(
        await node.post('/inner/get_token', { session: 'alice', platform: 2 }),
      );
      // Signed with the file's bytes, trailing newline ignored.
      const { payload } = await jwtVerify(token, bytes(jwtKey), {
        algorithms: ['HS256'],
        issuer: 'quick-im',
      });
      assert.equal(payload.sid, 'alice');
      assert.equal(existsSync(join(dataDir, 'jwt.key')), false);
      // And the server accepts a token signed with the file's key by someone else.
      const own = await sign(jwtKey, {
        sid: 'carol',
        platform: 2,
        iss: 'quick-im',
        iat: nowSec(),
        exp: nowSec() + 600,
      });
      assert.deepEqual(expectOk(await node.post('/get_joined_conversation', {}, own)), {
        Conversations: [],
      });
      const otherKey = await sign('x'.repeat(40), {
        sid: 'carol',
        platform: 2,
        iss: 'quick-im',
        iat: nowSec(),
        exp: nowSec() + 600,
      });
      expectFailure(await node.post('/get_joined_conversation', {}, otherKey), 10101);
    } finally {
      await node.kill();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
