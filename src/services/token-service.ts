import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../domain/clock.js';
import { ErrorCode, ImError } from '../domain/errors.js';
import { claimsOf, isTokenShaped } from './token-format.js';
import type { TokenClaims } from './token-format.js';

export type { TokenClaims } from './token-format.js';

const ISSUER = 'quick-im';
/** The generated key's file in the data directory. */
export const KEY_FILE = 'jwt.key';
/** Most verified tokens remembered; past it the oldest is forgotten (and verified again if seen). */
export const TOKEN_CACHE_LIMIT = 10_000;

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
  const existing = readStoredKey(dataDir);
  if (existing !== undefined) return existing;
  const path = join(dataDir, KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
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

/** The key generated into `dataDir` by an earlier start, or undefined when there is none yet. */
export function readStoredKey(dataDir: string): string | undefined {
  try {
    const existing = readFileSync(join(dataDir, KEY_FILE), 'utf8').trim();
    return existing === '' ? undefined : existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Issues and verifies HS256 JWTs carrying session (`sid`), platform and expiry. */
export class TokenService {
  /**
   * Imported once: given raw bytes, jose imports a WebCrypto key on every sign and verify,
   * about 45 % of their cost (measured: ~215 -> ~120 µs CPU per verify).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /**
   * Verified tokens, so the hot path pays for HMAC once per token, not once per request. Only
   * canonical tokens reach it, so one holder has one entry; a Map iterates in insertion order,
   * so the first key is the oldest, forgotten when the cache is full: nobody can empty it.
   */
  private readonly verified = new Map<string, TokenClaims>();

  /**
   * Tokens live `ttlSec` from issue; issue times and expiry are read from `clock`. Every
   * answer, cached or not, asks `revocations` (a memory lookup, never the store). At most
   * `cacheLimit` verified tokens are remembered.
   */
  constructor(
    key: string,
    private readonly ttlSec: number,
    private readonly clock: Clock,
    private readonly revocations: RevocationCheck = neverRevoked,
    private readonly cacheLimit = TOKEN_CACHE_LIMIT,
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

  /**
   * A token `verify` accepts until `ttlSec` from now. Rejects with 10001 when `session` or
   * `platform` is out of the range `verify` checks, rather than minting a token it would refuse.
   */
  async issue(session: string, platform: number): Promise<string> {
    const iat = this.nowSec();
    if (claimsOf({ sid: session, platform, iat, exp: iat + this.ttlSec }, iat) === undefined) {
      throw new ImError(ErrorCode.InvalidParameter, 'session or platform out of range');
    }
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
    if (!token || !isTokenShaped(token)) return undefined;
    const claims = this.verified.get(token);
    return claims !== undefined &&
      claims.expiresAt > this.nowSec() &&
      !this.revocations.isRevoked(claims)
      ? claims
      : undefined;
  }

  /**
   * Rejects with 10101 for a missing, malformed, expired, revoked or wrongly signed token, or
   * one whose claims are out of range (`claimsOf`). A token that is not three canonical
   * base64url parts is refused before the cache or any cryptography sees it.
   */
  async verify(token: string | undefined): Promise<TokenClaims> {
    if (!token) throw new ImError(ErrorCode.Unauthorized, 'missing token');
    if (!isTokenShaped(token)) throw new ImError(ErrorCode.Unauthorized, 'malformed token');
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt <= this.nowSec()) {
        this.verified.delete(token);
        throw new ImError(ErrorCode.Unauthorized, 'token expired');
      }
      if (this.revocations.isRevoked(cached)) throw revokedError();
      return cached;
    }
    const nowSec = this.nowSec();
    let claims: TokenClaims | undefined;
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(nowSec * 1000),
        requiredClaims: ['exp', 'iat', 'sid', 'platform'],
      });
      claims = claimsOf(payload, nowSec);
    } catch {
      throw new ImError(ErrorCode.Unauthorized, 'invalid or expired token');
    }
    if (claims === undefined)
      throw new ImError(ErrorCode.Unauthorized, 'token claims out of range');
    this.remember(token, claims);
    if (this.revocations.isRevoked(claims)) throw revokedError();
    return claims;
  }

  private remember(token: string, claims: TokenClaims): void {
    if (this.verified.size >= this.cacheLimit && !this.verified.has(token)) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(token, claims);
  }

  /** How many verified tokens are remembered (at most `cacheLimit`). */
  get cacheSize(): number {
    return this.verified.size;
  }
}

function revokedError(): ImError {
  return new ImError(ErrorCode.Unauthorized, 'token revoked');
}
