/** Parsers of setting values: each turns text into the typed value or throws a one-line reason. */
import { parseCidr } from './cidr.js';

export type StoreSetting = { kind: 'sqlite' } | { kind: 'postgres'; url: string };
export type BusSetting = { kind: 'memory' } | { kind: 'nats'; url: string };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function int(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new Error(`must be an integer ${min}..${max}`);
    }
    return n;
  };
}

export function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function cidrs(text: string): string[] {
  const items = list(text);
  for (const c of items) parseCidr(c);
  return items;
}

export function store(text: string): StoreSetting {
  if (text === 'sqlite') return { kind: 'sqlite' };
  if (/^postgres(ql)?:\/\/./.test(text)) return { kind: 'postgres', url: text };
  throw new Error('must be "sqlite" or a postgres:// URL');
}

export function bus(text: string): BusSetting {
  if (text === 'memory') return { kind: 'memory' };
  if (/^(nats|tls):\/\/./.test(text)) return { kind: 'nats', url: text };
  throw new Error('must be "memory" or a nats:// or tls:// URL');
}

/** Shortest signing key: HS256 with fewer bytes than its hash is guessable offline. */
export const MIN_JWT_KEY_BYTES = 32;

export function jwtKey(text: string): string | undefined {
  if (text === '') return undefined;
  if (Buffer.byteLength(text, 'utf8') < MIN_JWT_KEY_BYTES) {
    throw new Error(`must be at least ${MIN_JWT_KEY_BYTES} bytes`);
  }
  return text;
}

/**
 * A URL as it may be shown: whatever precedes an `@` (user, password, token) replaced, and so
 * is the value of a query parameter that may hold one (`?password=`, `sslpassword=`, `token=`).
 */
export function withoutPassword(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/*)?[^@/]*@/i, '$1***@')
    .replace(/([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi, '$1***');
}

export function bool(text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new Error('must be true, false, 1 or 0');
}

export function nonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

export const levels: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export function webhookUrl(text: string): string | undefined {
  if (text === '') return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error('must be an http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error('must be an http:// or https:// URL');
  }
  return text;
}

/** Fewest random bytes in a webhook secret (the Standard Webhooks spec's 24 to 64). */
export const MIN_WEBHOOK_SECRET_BYTES = 24;

/** The key bytes of a `whsec_` secret; throws when it is not one. */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : undefined;
  if (b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new Error('must be whsec_ followed by standard base64');
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_WEBHOOK_SECRET_BYTES) {
    throw new Error(`must hold at least ${MIN_WEBHOOK_SECRET_BYTES} bytes after whsec_`);
  }
  return key;
}

export function webhookSecret(text: string): string | undefined {
  if (text === '') return undefined;
  webhookKey(text);
  return text;
}
