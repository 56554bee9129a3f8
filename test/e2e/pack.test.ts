import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { MAIN_JS, REPO_ROOT, apiNode, fetchJson } from '../helpers/child-nodes.js';
import { waitUntil } from '../helpers/processes.js';
import { sdkReadmeProgram } from '../helpers/sdk-readme.js';

// The packages as a user gets them: `npm pack`, then `npm install <tarball>` into an empty
// directory, the packages from the npm cache `npm ci` filled (no download but metadata).

const run = promisify(execFile);
const TIMEOUT_MS = 300_000;

/** What an enclosing `npm test` exports that would make a child npm act on this repository. */
const PROJECT_ENV =
  /^(npm_package_|npm_lifecycle_|npm_config_(local_prefix|prefix|workspaces?|include_workspace_root)$)/i;

/** A child npm's environment: ours without `PROJECT_ENV` (the npm cache setting stays), plus `extra`. */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!PROJECT_ENV.test(k) && k !== 'INIT_CWD' && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  }
  return { ...env, ...extra };
}

async function npm(args: readonly string[], cwd: string, extra: Record<string, string> = {}) {
  try {
    return await run('npm', args, { cwd, env: npmEnv(extra), maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`npm ${args.join(' ')} failed:\n${e.stderr ?? ''}${e.stdout ?? ''}`, {
      cause: err,
    });
  }
}

interface Packed {
  readonly filename: string;
  readonly files: readonly { path: string }[];
}

/**
 * `npm pack` of the repository (`workspace`: of that workspace) into `dir`. `npm test` has
 * built everything first; `--ignore-scripts` skips `prepack` (the build), which would rewrite
 * `dist/` while other tests run it.
 */
async function pack(
  dir: string,
  workspace?: string,
): Promise<{ tarball: string; paths: string[] }> {
  const ws = workspace === undefined ? [] : ['-w', workspace];
  const args = ['pack', ...ws, '--ignore-scripts', '--json', '--pack-destination', dir];
  const { stdout } = await npm(args, REPO_ROOT);
  const [packed] = JSON.parse(stdout) as Packed[];
  assert.ok(packed, stdout);
  return { tarball: join(dir, packed.filename), paths: packed.files.map((f) => f.path) };
}

/**
 * better-sqlite3 installs a prebuilt binary when it can download one and otherwise compiles
 * SQLite for minutes. Offline, prebuild-install takes the binary from a local prebuilds
 * directory (`npm_config_<package>_local_prebuilds`): this one holds the binary `npm ci`
 * built for this checkout, packed as the release asset it stands in for. Without it the
 * install still works, slowly, by compiling.
 */
async function localPrebuilds(dir: string): Promise<Record<string, string>> {
  const pkgDir = join(REPO_ROOT, 'node_modules', 'better-sqlite3');
  const binary = 'build/Release/better_sqlite3.node';
  if (!existsSync(join(pkgDir, binary))) return {};
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const abi = process.versions.modules;
  const asset = `better-sqlite3-v${version}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  await run('tar', ['-czf', join(dir, asset), '-C', pkgDir, binary]);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-pack-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it(
    'installs the server from its tarball into an empty directory from the npm cache; npx quick-im serves a chat',
    { timeout: TIMEOUT_MS },
    async () => {
      assert.ok(existsSync(join(REPO_ROOT, MAIN_JS)), 'npm test builds dist/ first');
      const work = tempDir();
      const { tarball, paths } = await pack(work);
      const expected = ['package.json', 'README.md', 'LICENSE', MAIN_JS];
      for (const path of [...expected, 'dist/demo/public/index.html']) {
        assert.ok(paths.includes(path), `${path} is packed`);
      }
      for (const path of paths) {
        assert.ok(path.startsWith('dist/') || expected.includes(path), `${path} is not packed`);
        assert.doesNotMatch(path, /\.test\.js$/);
      }

      // An empty project, as `npm init -y` leaves it (so npm does not look above it for one).
      const app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
      const prebuilds = await localPrebuilds(join(work, 'prebuilds'));
      // npm 11 resolves the dependencies' ranges from the registry's full metadata, which
      // `npm ci` (working from the lockfile) does not cache: that metadata may come from the
      // registry; every package itself comes from the cache.
      await npm(
        ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
        app,
        prebuilds,
      );
      assert.ok(existsSync(join(app, 'node_modules', 'quick-im', MAIN_JS)));
      assert.ok(!existsSync(join(app, 'node_modules', 'quick-im', 'src')));

      const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        version: string;
      };
      assert.equal(
        (await npm(['exec', '--offline', '--', 'quick-im', '--version'], app)).stdout,
        `quick-im ${version}\n`,
      );
      const help = (await run('npx', ['quick-im', '--help'], { cwd: app, env: npmEnv() })).stdout;
      assert.match(help, /^ {2}--data-dir <value> +QUICKIM_DATA_DIR$/m);

      // `npx quick-im` in its own process group, so the stop reaches the server npx started.
      const dataDir = join(work, 'data');
      const server = spawn(
        'npx',
        ['quick-im', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--demo'],
        { cwd: app, env: npmEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const closed = new Promise<number | null>((resolve) => server.once('close', resolve));
      let stderr = '';
      server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let address: string | undefined;
      createInterface({ input: server.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'listening') address = entry.address;
      });
      try {
        await waitUntil(
          () => {
            if (server.exitCode !== null) throw new Error(`npx quick-im exited: ${stderr}`);
            return address !== undefined;
          },
          30_000,
          'npx quick-im to log "listening"',
        );
        const node = apiNode((address as string).replace('://localhost', '://127.0.0.1'));

        // The SDK is not in the server's package: the demo page says so, and nothing breaks.
        const demo = await fetchJson(`${node.url}/demo`);
        assert.equal(demo.status, 503);
        assert.equal(typeof demo.body.code, 'number');

        const token = async (session: string): Promise<string> => {
          const res = await node.post('/inner/get_token', { session, platform: 1 });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return res.body.data as string;
        };
        const alice = await token('alice');
        const created = await node.post(
          '/create_conversation',
          { conversation_type: 0, sessions: ['bob'] },
          alice,
        );
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const conversationId = created.body.data.ConversationId as string;
        const sent = await node.post(
          '/send_msg',
          {
            conversation_id: conversationId,
            status: 0,
            type: 1,
            content: 'hello from the tarball',
          },
          alice,
        );
        assert.equal(sent.status, 200, JSON.stringify(sent.body));
        const read = await node.post(
          '/get_conversation_lastone_msg',
          { conversation_id: conversationId },
          await token('bob'),
        );
        assert.equal(read.status, 200, JSON.stringify(read.body));
        assert.equal(read.body.data.Msg[0].MsgId, sent.body.data.MsgID);
        assert.equal(read.body.data.Msg[0].Content, 'hello from the tarball');
        assert.ok(existsSync(join(dataDir, 'quick-im.db')), 'the data dir is the one given');
      } finally {
        process.kill(-(server.pid as number), 'SIGTERM');
      }
      await closed;
    },
  );

  it(
    'packs the SDK, which installs and type-checks in a TypeScript consumer',
    { timeout: TIMEOUT_MS },
    async () => {
      const work = tempDir();
      const { tarball, paths } = await pack(work, '@quick-im/client');
      for (const path of [
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
      ]) {
        assert.ok(paths.includes(path), `${path} is packed`);
      }
      assert.ok(!paths.some((p) => p.startsWith('src/')), 'sources stay out');

      const consumer = join(work, 'consumer');
      mkdirSync(consumer);
      writeFileSync(
        join(consumer, 'package.json'),
        JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
      );
      // The SDK has no dependency, so nothing is resolved from the registry. TypeScript is the
      // repository's own: npm 11 resolves a new dependency from the registry's full metadata,
      // which `npm ci` does not cache, so `npm install --offline typescript` cannot work here.
      await npm(['install', '--offline', '--no-audit', '--no-fund', tarball], consumer);
      assert.ok(
        existsSync(join(consumer, 'node_modules', '@quick-im', 'client', 'dist', 'index.d.ts')),
      );
      writeFileSync(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2022', 'DOM'],
            types: [],
            strict: true,
            noEmit: true,
          },
          files: ['index.ts'],
        }),
      );
      // The consumer is the SDK README's examples as one program, plus a call the types must
      // refuse: were they missing (any), the unused @ts-expect-error would fail the check.
      const example = sdkReadmeProgram();
      writeFileSync(
        join(consumer, 'index.ts'),
        `${example}\n// @ts-expect-error -- content is a string\nawait client.sendMessage({ conversationId, content: 42 });\n`,
      );
      const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      try {
        await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer });
      } catch (err) {
        assert.fail(`tsc failed:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
      }
      const loaded = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('@quick-im/client'); console.log(typeof m.QuickImClient);",
        ],
        { cwd: consumer },
      );
      assert.equal(loaded.stdout, 'function\n');
    },
  );
});
