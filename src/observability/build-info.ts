import { readFileSync } from 'node:fs';
import type { BuildInfo } from './metrics.js';

/**
 * This package's version, from the package.json beside `src/` or `dist/` (both sit one level
 * below it), and Node's; `unknown` when the file cannot be read.
 */
export function buildInfo(): BuildInfo {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // A bundled or relocated build: the metric still says which Node runs.
  }
  return { version, node: process.version };
}
