import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The ```ts blocks of `markdown`, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

const SDK_IMPORT = /^import (type )?\{([^}]*)\} from '@quick-im\/client';\n/gm;

/**
 * The SDK README's ```ts blocks as one program, as the README says they read: each block
 * after the first continues the first (its names in scope) in a scope of its own. Their
 * imports, all from '@quick-im/client', are merged into one at the top.
 */
export function sdkReadmeProgram(): string {
  const blocks = tsBlocks(readFileSync(join(repo, 'packages/client/README.md'), 'utf8'));
  assert.ok(blocks.length > 1, 'the SDK README has its examples');
  const values = new Set<string>();
  const types = new Set<string>();
  const bodies = blocks.map((block) => {
    for (const [, isType, names] of block.matchAll(SDK_IMPORT)) {
      for (const name of (names as string).split(',').map((n) => n.trim())) {
        if (name !== '') (isType === undefined ? values : types).add(name);
      }
    }
    const body = block.replace(SDK_IMPORT, '');
    assert.doesNotMatch(body, /^import /m, 'examples import only from @quick-im/client');
    return body;
  });
  const typeOnly = [...types].filter((t) => !values.has(t));
  return [
    `import { ${[...values].join(', ')} } from '@quick-im/client';`,
    `import type { ${typeOnly.join(', ')} } from '@quick-im/client';`,
    bodies[0] as string,
    ...bodies.slice(1).map((body) => `{\n${body}}`),
  ].join('\n');
}
