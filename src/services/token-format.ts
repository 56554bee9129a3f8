/** Longest token accepted: a real one is ~200 bytes; anything far larger is not ours. */
export const MAX_TOKEN_LENGTH = 1024;
const MAX_SESSION_BYTES = 128;
const MAX_PLATFORM = 255;
/** How far in the future `iat` may be: clocks of nodes and backends differ a little. */
export const MAX_IAT_SKEW_SEC = 60;

const PART = /^[A-Za-z0-9_-]+$/;

/** Whether `part` is base64url exactly as an encoder writes it: no padding, no stray bits. */
function isCanonicalPart(part: string): boolean {
  if (!PART.test(part) || part.length % 4 === 1) return false;
  return Buffer.from(part, 'base64url').toString('base64url') === part;
}

/**
 * Whether `token` is three canonical base64url parts: checked before any cryptography or
 * cache lookup, so re-encoded variants of one token are refused rather than each verified
 * (a padded or bit-flipped variant of a valid token decodes to the same bytes).
 */
export function isTokenShaped(token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH) return false;
  const a = token.indexOf('.');
  const b = token.indexOf('.', a + 1);
  if (a <= 0 || b <= a + 1 || token.indexOf('.', b + 1) !== -1 || b === token.length - 1)
    return false;
  return (
    isCanonicalPart(token.slice(0, a)) &&
    isCanonicalPart(token.slice(a + 1, b)) &&
    isCanonicalPart(token.slice(b + 1))
  );
}

/** What a valid token says. `expiresAt` and `issuedAt` are in seconds since the Unix epoch. */
export interface TokenClaims {
  readonly session: string;
  readonly platform: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * The claims of a verified payload when each is in range — `sid` 1..128 UTF-8 bytes,
 * `platform` an integer 0..255, `iat` an integer at most 60 s ahead of `nowSec`, `exp` an
 * integer — else undefined. The signature, `iss` and expiry are the verifier's.
 */
export function claimsOf(
  payload: Readonly<Record<string, unknown>>,
  nowSec: number,
): TokenClaims | undefined {
  const { sid, platform, iat, exp } = payload;
  if (typeof sid !== 'string' || sid === '' || Buffer.byteLength(sid, 'utf8') > MAX_SESSION_BYTES)
    return undefined;
  if (
    typeof platform !== 'number' ||
    !Number.isInteger(platform) ||
    platform < 0 ||
    platform > MAX_PLATFORM
  )
    return undefined;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat > nowSec + MAX_IAT_SKEW_SEC)
    return undefined;
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return undefined;
  return { session: sid, platform, issuedAt: iat, expiresAt: exp };
}
