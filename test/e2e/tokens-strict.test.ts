import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { expectFailure, expectOk, request } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tokenVariants } from '../helpers/token-variants.js';

const KEY = 'tokens-strict-test-key-of-32-bytes-or-more';
const nowSec = (): number => Math.floor(Date.now() / 1000);
const TEN_YEARS_SEC = 10 * 365 * 86_400;

interface Claims {
  readonly sid?: unknown;
  readonly platform?: unknown;
  readonly iss?: string;
  readonly iat?: number;
  readonly exp?: number;
}

/** A token signed with the server's own key, carrying exactly `claims`. */
function sign(claims: Claims): Promise<string> {
  const { iss, iat, exp, ...rest } = claims;
  let jwt = new SignJWT(rest as Record<string, unknown>).setProtectedHeader({
    alg: 'HS256',
    typ: 'JWT',
  });
  if (iss !== undefined) jwt = jwt.setIssuer(iss);
  if (iat !== undefined) jwt = jwt.setIssuedAt(iat);
  if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(KEY));
}

describe('strict tokens', () => {
  let server: TestServer;
  let conversationId: string;

  before(async () => {
    server = await startServer({ jwtKey: KEY });
    conversationId = await server.createConversation(['alice']);
  });

  after(() => server.close(true));

  const send = (token: string) =>
    server.post(
      '/send_msg',
      { conversation_id: conversationId, status: 0, type: 0, content: 'x' },
      token,
    );
  const poll = (token: string) =>
    request(`${server.url}/notify?protoc=poll&timeout=0&token=${encodeURIComponent(token)}`, {
      method: 'GET',
    });

  it('refuses well-signed tokens whose claims are out of range on /send_msg and /notify', async () => {
    const good = { sid: 'alice', platform: 1, iss: 'quick-im', iat: nowSec(), exp: nowSec() + 600 };
    // Control: the same construction in range is accepted by both.
    const control = await sign(good);
    expectOk(await send(control));
    const polled = await poll(control);
    assert.equal(polled.status, 204, JSON.stringify(polled.body)); // nothing new: an empty poll
    const cases: Record<string, Claims> = {
      'platform 999': { ...good, platform: 999 },
      'platform -1': { ...good, platform: -1 },
      'a 129-byte sid': { ...good, sid: 'a'.repeat(129) },
      'a 5,000-character sid': { ...good, sid: 'a'.repeat(5000) },
      'iat ten years ahead': { ...good, iat: nowSec() + TEN_YEARS_SEC },
      'iat 2 minutes ahead': { ...good, iat: nowSec() + 120 },
      'no exp': { ...good, exp: undefined },
      'another iss': { ...good, iss: 'someone-else' },
      'no iss': { ...good, iss: undefined },
    };
    for (const [name, claims] of Object.entries(cases)) {
      const token = await sign(claims);
      for (const [route, call] of [
        ['/send_msg', send],
        ['/notify', poll],
      ] as const) {
        try {
          expectFailure(await call(token), 10101);
        } catch (err) {
          assert.fail(`${name} on ${route}: ${(err as Error).message}`);
        }
      }
    }
  });

  it('refuses a token that is not three canonical base64url parts before verifying it', async () => {
    const token = await server.token('alice');
    const [h, p, s] = token.split('.') as [string, string, string];
    for (const malformed of [`${token}=`, `${h}.${p}=.${s}`, ` ${token}`, `${h}..${p}.${s}`]) {
      const res = await poll(malformed);
      expectFailure(res, 10101);
      assert.equal(res.body.error, 'malformed token', malformed);
    }
    // A canonical token with a wrong signature does reach the HMAC, and fails there.
    const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    const res = await poll(flipped);
    expectFailure(res, 10101);
    assert.notEqual(res.body.error, 'malformed token');
  });

  it('accepts no variant of a valid token over HTTP unless it is byte-identical', async () => {
    const token = await server.token('alice');
    expectOk(await send(token));
    const variants = tokenVariants(token).filter((v, i) => {
      if (i % 8 !== 0) return false;
      try {
        encodeURIComponent(v);
        return true;
      } catch {
        return false; // a lone surrogate has no URL encoding
      }
    });
    assert.ok(variants.length >= 300, `${variants.length} variants`);
    for (const variant of variants) {
      const res = await poll(variant);
      assert.equal(res.status, 401, `${JSON.stringify(variant)}: ${res.status}`);
      assert.equal(res.body.code, 10101);
    }
    expectOk(await send(token));
  });
});
