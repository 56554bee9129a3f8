import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TEST_TIMEOUT_MS } from './sdk-helpers.js';
import { sdkReadmeProgram, tsBlocks } from '../helpers/sdk-readme.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The snippet's one line that names the server; the test points it at its own server. */
const BASE_URL_LINE = /^const baseUrl = .*$/m;

/** The one ```ts block of the README's `## Client SDK` section. */
function readmeSnippet(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.search(/^## Client SDK\s*$/m);
  assert.notEqual(start, -1, 'README has no "## Client SDK" section');
  const rest = readme.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(/^## /m);
  const section = end === -1 ? rest : rest.slice(0, end);
  const blocks = tsBlocks(section);
  assert.equal(blocks.length, 1, 'the section has exactly one ```ts block');
  return blocks[0] as string;
}

/** Writes `code` to a fresh directory under tmp/ with its `baseUrl` line pointed at `url`. */
function writeProgram(code: string, url: string): { dir: string; file: string } {
  assert.equal(code.match(new RegExp(BASE_URL_LINE, 'gm'))?.length, 1);
  mkdirSync(join(repo, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(repo, 'tmp', 'sdk-readme-'));
  const file = join(dir, 'snippet.ts');
  writeFileSync(file, code.replace(BASE_URL_LINE, `const baseUrl = ${JSON.stringify(url)};`));
  return { dir, file };
}

/** Type-checks `file` under strict TypeScript, the way an SDK user's project would. */
async function typeCheck(file: string): Promise<void> {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    tsc,
    '--ignoreConfig',
    '--noEmit',
    '--strict',
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--types',
    'node',
    '--skipLibCheck',
    file,
  ];
  await run(process.execPath, args, { cwd: repo, timeout: 30_000 }).catch(
    (err: { stdout?: string }) => {
      throw new Error(`tsc rejected the README snippet:\n${err.stdout ?? String(err)}`);
    },
  );
}

describe('README "Client SDK" snippet', () => {
  let server: TestServer;
  let dir: string;
  let file: string;

  before(async () => {
    server = await startServer();
    ({ dir, file } = writeProgram(readmeSnippet(), server.url));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.close(true);
  });

  it(
    'runs against a real server, receives its own message and exits by itself',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // No process.exit in the snippet: it ends only once close() has released everything.
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: repo,
        timeout: 20_000,
      });
      const lines = stdout.trim().split('\n');
      assert.ok(lines.includes('alice: hello'), stdout);
      assert.match(lines[0] ?? '', /^connected over (ws|sse|poll)$/, stdout);
      const [conversation] = (
        await server.post('/get_joined_conversation', {}, await server.token('bob'))
      ).body.data.Conversations as string[];
      const last = await server.post(
        '/get_conversation_lastone_msg',
        { conversation_id: conversation },
        await server.token('bob'),
      );
      assert.equal(last.body.data.Msg[0].Content, 'hello', 'the message is stored for bob too');
    },
  );

  it('type-checks under strict TypeScript', { timeout: TEST_TIMEOUT_MS }, () => typeCheck(file));
});

describe('SDK README (packages/client) examples', () => {
  let server: TestServer;
  let dir: string;
  let file: string;

  before(async () => {
    server = await startServer();
    ({ dir, file } = writeProgram(sdkReadmeProgram(), server.url));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.close(true);
  });

  it(
    'run in order against a real server and print what their comments say',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: repo,
        timeout: 30_000,
      });
      const lines = stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^connected over (ws|sse|poll)$/, stdout);
      for (const line of ['push is connected', '1 null', 'true 404', '0 unread']) {
        assert.ok(lines.includes(line), `"${line}" in:\n${stdout}`);
      }
      assert.ok(lines.includes("[ 'alice', 'bob' ] null"), stdout);
    },
  );

  it('type-check under strict TypeScript', { timeout: TEST_TIMEOUT_MS }, () => typeCheck(file));
});
