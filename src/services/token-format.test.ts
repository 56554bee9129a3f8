import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../test/helpers/token-variants.js';
import { MAX_TOKEN_LENGTH, claimsOf, isTokenShaped } from './token-format.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sid: 'a' })}.${Buffer.alloc(32, 7).toString('base64url')}`;

describe('isTokenShaped', () => {
  it('accepts three canonical base64url parts', () => {
    assert.equal(isTokenShaped(token), true);
  });

  it('refuses padding, whitespace, other alphabets, stray bits and wrong part counts', () => {
    const [h, p, s] = token.split('.') as [string, string, string];
    const variants = [
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
      ` ${token}`,
      `${token}\n`,
      `${h}.${p}.${s.replaceAll('_', '/').replaceAll('-', '+')}x/`,
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.`,
      // The last character of a 32-byte signature carries 2 spare bits: flipping them keeps the bytes.
      `${h}.${p}.${s.slice(0, -1)}${String.fromCharCode(s.charCodeAt(s.length - 1) + 1)}`,
      'a'.repeat(MAX_TOKEN_LENGTH + 1),
    ];
    for (const v of variants) assert.equal(isTokenShaped(v), false, JSON.stringify(v));
  });

  it('calls a part canonical exactly when decoding and re-encoding it gives it back', () => {
    const rnd = seededRandom(7);
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let n = 0; n < 5000; n++) {
      let part = '';
      const length = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < length; i++) part += chars.charAt(Math.floor(rnd() * chars.length));
      const roundTrip = Buffer.from(part, 'base64url').toString('base64url') === part;
      assert.equal(isTokenShaped(`${part}.${part}.${part}`), roundTrip, part);
    }
  });
});

describe('claimsOf', () => {
  const now = 1_800_000_000;
  const good = { sid: 'alice', platform: 3, iat: now, exp: now + 60 };

  it('reads claims in range', () => {
    assert.deepEqual(claimsOf(good, now), {
      session: 'alice',
      platform: 3,
      issuedAt: now,
      expiresAt: now + 60,
    });
    assert.ok(claimsOf({ ...good, sid: 'é'.repeat(64), platform: 255, iat: now + 60 }, now));
  });

  it('refuses claims out of range', () => {
    const bad = [
      { ...good, sid: '' },
      { ...good, sid: 'x'.repeat(129) },
      { ...good, sid: 'é'.repeat(65) },
      { ...good, sid: 7 },
      { ...good, platform: 256 },
      { ...good, platform: -1 },
      { ...good, platform: 1.5 },
      { ...good, platform: '1' },
      { ...good, iat: now + 61 },
      { ...good, iat: undefined },
      { ...good, exp: undefined },
      { ...good, exp: 1.5 },
    ];
    for (const b of bad) assert.equal(claimsOf(b, now), undefined, JSON.stringify(b));
  });
});
