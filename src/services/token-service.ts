import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../domain/clock.js';
import { ErrorCode, ImError } from '../domain/errors.js';

const ISSUER = 'quick-im';
const KEY_FILE = 'jwt.key';
const CACHE_LIMIT = 10_000;

/** What a valid token says. `issuedAt` and `expiresAt` are in seconds since the Unix epoch. */
export interface TokenClaims {
  readonly session: string;
  readonly platform: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Answers from memory whether a token was revoked after it was issued (`/inner/revoke_session`). */
export interface RevocationCheck {
  isRevoked(claims: TokenClaims): boolean;
}

const neverRevoked: RevocationCheck = { isRevoked: () => false };

/**
 * The configured key, or the one generated into `dataDir` on first start (file mode 0600)
 * and reused afterwards. There is no built-in key.
 */
export function loadOrCreateKey(configured: string | undefined, dataDir: string): string {
  if (configured !== undefined) return configured;
  const path = join(dataDir, KEY_FILE);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing !== '') return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw err;
  }
  return key;
}

/** Issues and verifies HS256 JWTs carrying session (`sid`), platform and expiry. */
export class TokenService {
  /**
   * Imported once: given raw bytes, jose imports a WebCrypto key on every sign and verify,
   * about 45 % of their cost (measured: ~215 -> ~120 µs CPU per verify).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  // Verified tokens, so the hot path pays for HMAC once per token, not once per request.
  private readonly verified = new Map<string, TokenClaims>();

  /**
   * Tokens live `ttlSec` from issue; issue times and expiry are read from `clock`. Every
   * answer, cached or not, asks `revocations` (a memory lookup, never the store).
   */
  constructor(
    key: string,
    private readonly ttlSec: number,
    private readonly clock: Clock,
    private readonly revocations: RevocationCheck = neverRevoked,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(key),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    // A key WebCrypto refuses fails each sign and verify that awaits it, not the process.
    this.key.catch(() => undefined);
  }

  /** Whole seconds since the Unix epoch, as JWTs count time. */
  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  async issue(session: string, platform: number): Promise<string> {
    const iat = this.nowSec();
    const key = await this.key;
    return new SignJWT({ sid: session, platform })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSec)
      .sign(key);
  }

  /**
   * The claims of a token verified before and not yet expired, or undefined (then `verify`
   * decides): lets the request hook answer the common case without a promise.
   */
  cached(token: string | undefined): TokenClaims | undefined {
    if (!token) return undefined;
    const claims = this.verified.get(token);
    return claims !== undefined &&
      claims.expiresAt > this.nowSec() &&
      !this.revocations.isRevoked(claims)
      ? claims
      : undefined;
  }

  /** Rejects with 10101 for a missing, malformed, expired, revoked or wrongly signed token. */
  async verify(token: string | undefined): Promise<TokenClaims> {
    if (!token) throw new ImError(ErrorCode.Unauthorized, 'missing token');
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt <= this.nowSec()) {
        this.verified.delete(token);
        throw new ImError(ErrorCode.Unauthorized, 'token expired');
      }
      if (this.revocations.isRevoked(cached)) throw revokedError();
      return cached;
    }
    let claims: TokenClaims;
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(this.nowSec() * 1000),
        requiredClaims: ['exp', 'iat', 'sid', 'platform'],
      });
      const { sid, platform, iat, exp } = payload;
      if (
        typeof sid !== 'string' ||
        sid === '' ||
        !Number.isInteger(platform) ||
        typeof iat !== 'number' ||
        typeof exp !== 'number'
      ) {
        throw new Error('bad claims');
      }
      claims = { session: sid, platform: platform as number, issuedAt: iat, expiresAt: exp };
    } catch {
      throw new ImError(ErrorCode.Unauthorized, 'invalid or expired token');
    }
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, claims);
    if (this.revocations.isRevoked(claims)) throw revokedError();
    return claims;
  }
}

function revokedError(): ImError {
  return new ImError(ErrorCode.Unauthorized, 'token revoked');
}
