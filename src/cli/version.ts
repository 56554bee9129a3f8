import { readFileSync } from 'node:fs';

/**
 * The version in the package's own package.json: two levels up from `src/cli/` and from the
 * compiled `dist/cli/` alike, so a checkout and an installed package answer the same way.
 */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}
