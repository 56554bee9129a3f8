import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT, decodeJwt } from 'jose';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { tokenVariants } from '../../test/helpers/token-variants.js';
import { ErrorCode, ImError } from '../domain/errors.js';
import { TokenService } from './token-service.js';

const KEY = 'k'.repeat(32);

async function refused(tokens: TokenService, token: string): Promise<ImError> {
  try {
    await tokens.verify(token);
  } catch (err) {
    assert.ok(err instanceof ImError, String(err));
    assert.equal(err.code, ErrorCode.Unauthorized);
    return err;
  }
  assert.fail(`verified: ${JSON.stringify(token)}`);
}

describe('TokenService', () => {
  it('verifies what it issues, at the edges of every claim range', async () => {
    const tokens = new TokenService(KEY, 60, new ManualClock());
    for (const [session, platform] of [
      ['a', 0],
      ['x'.repeat(128), 255],
      ['é'.repeat(64), 7],
      ['😀'.repeat(32), 1],
    ] as const) {
      const claims = await tokens.verify(await tokens.issue(session, platform));
      assert.equal(claims.session, session);
      assert.equal(claims.platform, platform);
      assert.equal(claims.expiresAt - claims.issuedAt, 60);
    }
  });

  it('refuses to issue a token that verify would refuse', async () => {
    const tokens = new TokenService(KEY, 60, new ManualClock());
    for (const [session, platform] of [
      ['', 1],
      ['x'.repeat(129), 1],
      ['é'.repeat(65), 1],
      ['a', 256],
      ['a', -1],
      ['a', 1.5],
    ] as const) {
      await assert.rejects(tokens.issue(session, platform), (err: unknown) => {
        return err instanceof ImError && err.code === ErrorCode.InvalidParameter;
      });
    }
  });

  it('accepts no variant of a valid token unless it is byte-identical', async () => {
    // A fixed time: the same token, so the same variants, on every run (the share of variants
    // that are still token-shaped depends on the token's characters).
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const tokens = new TokenService(KEY, 600, clock);
    const token = await tokens.issue('alice', 3);
    await tokens.verify(token);
    const variants = tokenVariants(token);
    assert.ok(variants.length >= 3000, `only ${variants.length} variants`);
    let malformed = 0;
    for (const variant of variants) {
      if ((await refused(tokens, variant)).message === 'malformed token') malformed++;
      assert.equal(tokens.cached(variant), undefined);
    }
    // Only bit flips inside the alphabet that keep the spare bits zero reach the HMAC.
    assert.ok(malformed > variants.length * 0.75, `${malformed} of ${variants.length}`);
    assert.equal(tokens.cacheSize, 1);
    assert.equal((await tokens.verify(token)).session, 'alice');
  });

  it('checks claims after the signature: range, issuer, iat skew, exp required', async () => {
    const clock = new ManualClock();
    const tokens = new TokenService(KEY, 600, clock);
    const now = Math.floor(clock.now() / 1000);
    const sign = (claims: Record<string, unknown>, iss = 'quick-im') => {
      const { iat, exp, ...rest } = claims;
      let jwt = new SignJWT(rest).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss);
      if (iat !== undefined) jwt = jwt.setIssuedAt(iat as number);
      if (exp !== undefined) jwt = jwt.setExpirationTime(exp as number);
      return jwt.sign(new TextEncoder().encode(KEY));
    };
    const good = { sid: 'alice', platform: 1, iat: now, exp: now + 600 };
    assert.equal((await tokens.verify(await sign(good))).session, 'alice');
    assert.equal((await tokens.verify(await sign({ ...good, iat: now + 60 }))).issuedAt, now + 60);
    for (const [claims, iss] of [
      [{ ...good, platform: 999 }],
      [{ ...good, sid: 'x'.repeat(129) }],
      [{ ...good, iat: now + 61 }],
      [{ ...good, iat: now + 10 * 365 * 86_400 }],
      [{ ...good, exp: undefined }],
      [{ ...good, iat: undefined }],
      [good, 'someone-else'],
    ] as const) {
      await refused(tokens, await sign(claims, iss));
    }
    assert.equal(tokens.cacheSize, 2);
  });

  it('forgets the oldest verified token when full, never the whole cache', async () => {
    const clock = new ManualClock();
    const tokens = new TokenService(KEY, 600, clock, undefined, 3);
    const issued: string[] = [];
    for (let i = 0; i < 5; i++) issued.push(await tokens.issue(`s${i}`, 1));
    for (const t of issued.slice(0, 3)) await tokens.verify(t);
    await tokens.verify(issued[3] as string);
    assert.equal(tokens.cacheSize, 3);
    assert.equal(tokens.cached(issued[0]), undefined);
    for (const t of issued.slice(1, 4)) assert.equal(tokens.cached(t)?.session, decodeJwt(t).sid);
    // Variants of a cached token are refused before the cache: they cannot push entries out.
    for (const v of tokenVariants(issued[3] as string, 1, 200)) await refused(tokens, v);
    for (const t of issued.slice(1, 4)) assert.ok(tokens.cached(t));
    // A token forgotten is verified again when it comes back.
    assert.equal((await tokens.verify(issued[0] as string)).session, 's0');
    assert.equal(tokens.cacheSize, 3);
  });

  it('refuses a cached token once it expires', async () => {
    const clock = new ManualClock();
    const tokens = new TokenService(KEY, 2, clock);
    const token = await tokens.issue('alice', 1);
    await tokens.verify(token);
    assert.ok(tokens.cached(token));
    clock.advance(2000);
    assert.equal(tokens.cached(token), undefined);
    assert.equal((await refused(tokens, token)).message, 'token expired');
    await refused(tokens, token);
  });
});
