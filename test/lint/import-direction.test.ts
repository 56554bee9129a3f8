import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The `no-restricted-imports` messages ESLint gives `code` as if it were the file at `path`. */
async function restricted(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  assert.ok(result, path);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import direction (eslint.config.js)', () => {
  it('fails a domain file that imports a store', async () => {
    const messages = await restricted(
      'src/domain/fixture.ts',
      "import { SqliteStore } from '../store/sqlite-store.js';\nexport const s = SqliteStore;\n",
    );
    assert.ok(messages.length > 0, 'no-restricted-imports fired');
    assert.match(messages.join('\n'), /src\/domain\/ may import nothing else of ours/);
  });

  it('fails realtime importing transports, a type import included', async () => {
    const messages = await restricted(
      'src/realtime/fixture.ts',
      "import type { Wire } from '../transports/transport.js';\nexport type W = Wire;\n",
    );
    assert.ok(messages.length > 0);
  });

  it('fails a route (two levels down) that imports the store, not the services', async () => {
    const messages = await restricted(
      'src/http/routes/fixture.ts',
      "import type { Store } from '../../store/store.js';\nexport type S = Store;\n",
    );
    assert.ok(messages.length > 0);
  });

  it('lets services import the store interface, but not a concrete store', async () => {
    const iface = "import type { Store } from '../store/store.js';\nexport type S = Store;\n";
    assert.deepEqual(await restricted('src/services/fixture.ts', iface), []);
    const concrete =
      "import { SqliteStore } from '../store/sqlite-store.js';\nexport const s = SqliteStore;\n";
    assert.match(
      (await restricted('src/services/fixture.ts', concrete)).join('\n'),
      /Only app\.ts and main\.ts pick concrete/,
    );
  });

  it("lets the demo use http's public exports only", async () => {
    const pub = "import { refuse } from '../http/index.js';\nexport const r = refuse;\n";
    assert.deepEqual(await restricted('src/demo/fixture.ts', pub), []);
    const inner = "import { refuse } from '../http/envelope.js';\nexport const r = refuse;\n";
    assert.ok((await restricted('src/demo/fixture.ts', inner)).length > 0);
  });

  it('lets the composition root import concrete backends', async () => {
    const code =
      "import { SqliteStore } from './store/sqlite-store.js';\n" +
      "import { NatsBus } from './bus/nats-bus.js';\nexport const c = [SqliteStore, NatsBus];\n";
    assert.deepEqual(await restricted('src/app.ts', code), []);
  });
});
