// Variants of one token, as an attacker or a sloppy client would write it: each decodes to the
// same bytes or to nearly the same bytes. A strict verifier accepts none of them.

/** A seeded generator (mulberry32): the same seed gives the same variants on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const WHITESPACE = [' ', '\t', '\n', '\r', '\r\n', '\v', '\f', '\u00a0', '\u2028', '\ufeff', '\0'];

/** `part` with its last character changed to every other one that decodes to the same bytes. */
function spareBitSpellings(part: string): string[] {
  const tail = part.length % 4;
  if (tail === 0 || tail === 1) return [];
  const spare = tail === 2 ? 0b1111 : 0b11;
  const last = ALPHABET.indexOf(part.charAt(part.length - 1));
  const out: string[] = [];
  for (let bits = 1; bits <= spare; bits++) {
    out.push(part.slice(0, -1) + ALPHABET.charAt((last & ~spare) | bits));
  }
  return out;
}

function replacePart(parts: readonly string[], i: number, part: string): string {
  return parts.map((p, j) => (j === i ? part : p)).join('.');
}

/**
 * Several thousand distinct strings other than `token`: every single-bit flip of every
 * character, `=` padding, whitespace around and inside, standard-alphabet (`+` `/`)
 * re-encodings, non-canonical spare bits, case changes, doubled and moved dots, truncations,
 * and random combinations of these drawn from `seed`.
 */
export function tokenVariants(token: string, seed = 14, random = 3000): string[] {
  const parts = token.split('.');
  const out = new Set<string>();
  const add = (v: string): void => {
    if (v !== token) out.add(v);
  };
  for (let i = 0; i < token.length; i++) {
    for (let bit = 0; bit < 16; bit++) {
      add(
        token.slice(0, i) +
          String.fromCharCode(token.charCodeAt(i) ^ (1 << bit)) +
          token.slice(i + 1),
      );
    }
  }
  parts.forEach((part, i) => {
    for (const pad of ['=', '==', '===']) add(replacePart(parts, i, part + pad));
    const std = Buffer.from(part, 'base64url').toString('base64');
    add(replacePart(parts, i, std));
    add(replacePart(parts, i, std.replace(/=+$/, '')));
    add(replacePart(parts, i, part.replaceAll('-', '+').replaceAll('_', '/')));
    for (const spelling of spareBitSpellings(part)) add(replacePart(parts, i, spelling));
    add(replacePart(parts, i, part.toUpperCase()));
    add(replacePart(parts, i, part.toLowerCase()));
    add(replacePart(parts, i, part + part.slice(-4)));
  });
  for (const ws of WHITESPACE) {
    add(ws + token);
    add(token + ws);
    for (let i = 0; i <= token.length; i += 7) add(token.slice(0, i) + ws + token.slice(i));
  }
  for (let i = 0; i < token.length; i++) add(token.slice(0, i));
  add(token.replaceAll('.', '..'));
  add(`.${token}`);
  add(`${token}.`);
  add(`${token}.${parts[2] ?? ''}`);
  add(parts.join('.'.repeat(3)));
  add(token.toUpperCase());
  add(token.toLowerCase());
  add(encodeURIComponent(token).replaceAll('.', '%2E'));

  // Random combinations: 1..3 edits each, drawn from the single-edit kinds above.
  const rnd = seededRandom(seed);
  const pick = (s: string): number => Math.floor(rnd() * (s.length + 1));
  const edits: ((s: string) => string)[] = [
    (s) => {
      const i = Math.min(pick(s), s.length - 1);
      return (
        s.slice(0, i) +
        String.fromCharCode(s.charCodeAt(i) ^ (1 << Math.floor(rnd() * 7))) +
        s.slice(i + 1)
      );
    },
    (s) => {
      const i = pick(s);
      return (
        s.slice(0, i) + (WHITESPACE[Math.floor(rnd() * WHITESPACE.length)] ?? ' ') + s.slice(i)
      );
    },
    (s) => {
      const i = pick(s);
      return s.slice(0, i) + '=' + s.slice(i);
    },
    (s) => s.replace(rnd() < 0.5 ? '-' : '_', rnd() < 0.5 ? '+' : '/'),
    (s) => {
      const i = Math.min(pick(s), s.length - 1);
      const c = s.charAt(i);
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return s.slice(0, i) + flipped + s.slice(i + 1);
    },
    (s) => s.slice(0, pick(s)),
    (s) => {
      const i = pick(s);
      return s.slice(0, i) + '.' + s.slice(i);
    },
    (s) => {
      const ps = s.split('.');
      const i = Math.floor(rnd() * ps.length);
      const spellings = spareBitSpellings(ps[i] ?? '');
      const spelling = spellings[Math.floor(rnd() * spellings.length)];
      return spelling === undefined ? s : replacePart(ps, i, spelling);
    },
  ];
  for (let n = 0; n < random; n++) {
    let v = token;
    const count = 1 + Math.floor(rnd() * 3);
    for (let e = 0; e < count; e++)
      v = (edits[Math.floor(rnd() * edits.length)] as (s: string) => string)(v);
    add(v);
  }
  return [...out];
}
