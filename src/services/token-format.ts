import { MAX_PLATFORM, MAX_SESSION_ID_BYTES } from '../domain/conversation.js';

/** Longest token accepted: a real one is ~200 bytes; anything far larger is not ours. */
export const MAX_TOKEN_LENGTH = 1024;
/** How far in the future `iat` may be: clocks of nodes and backends differ a little. */
export const MAX_IAT_SKEW_SEC = 60;

const SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a part already known to be base64url characters is written as an encoder writes it:
 * a length a byte count can have, and zero in the spare bits of its last character (2 or 4 of
 * them when the length is not a multiple of 4), so no two spellings decode to the same bytes.
 */
function isCanonicalPart(part: string): boolean {
  const tail = part.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = ALPHABET.indexOf(part.charAt(part.length - 1));
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

/**
 * Whether `token` is three canonical base64url parts: checked before any cryptography or
 * cache lookup, so re-encoded variants of one token are refused rather than each verified
 * (a padded or bit-flipped variant of a valid token decodes to the same bytes).
 */
export function isTokenShaped(token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH) return false;
  const parts = SHAPE.exec(token);
  return (
    parts !== null &&
    isCanonicalPart(parts[1] as string) &&
    isCanonicalPart(parts[2] as string) &&
    isCanonicalPart(parts[3] as string)
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
  if (
    typeof sid !== 'string' ||
    sid === '' ||
    Buffer.byteLength(sid, 'utf8') > MAX_SESSION_ID_BYTES
  )
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
