import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { fields } from '../../src/config/settings.js';
import { postgresMigrations } from '../../src/store/migrations/postgres.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { MAIN_JS, REPO_ROOT, apiNode, startNodeProcess } from '../helpers/child-nodes.js';
import type { NodeProcess } from '../helpers/child-nodes.js';
import { freePort, skipReason, waitUntil } from '../helpers/processes.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres.js';

// Every `quick-im` command, run as the compiled `dist/main.js` in a child process.

const KEY = 'k'.repeat(40);
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a child: ours without QUICKIM_* settings (and not a test), plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('QUICKIM_') && k !== 'NODE_TEST_CONTEXT') out[k] = v;
  }
  return { ...out, ...env };
}

/** Runs `quick-im <args>` to its end (killed after 20 s). */
function quickIm(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [MAIN_JS, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Asserts a refusal: exit 2, nothing on stdout, one line on stderr matching `pattern`. */
function assertRefused(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n');
  assert.equal(lines.length, 2, `one line and its newline: ${JSON.stringify(run.stderr)}`);
  assert.match(lines[0] as string, /^quick-im: /);
  assert.match(lines[0] as string, pattern);
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-cli-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('quick-im --help and --version', () => {
  it('lists every setting with its variable, default and doc, in table order', async () => {
    const run = await quickIm(['--help']);
    assert.equal(run.code, 0, run.stderr);
    const help = run.stdout;
    let at = help.indexOf('--config <file>');
    assert.ok(at > 0, '--config is listed');
    for (const f of fields) {
      const line = new RegExp(`^  --${f.flag} <value> +${f.env}$`, 'm').exec(help);
      assert.ok(line, `--${f.flag} and ${f.env} on one line`);
      assert.ok(line.index > at, `--${f.flag} comes after the setting before it`);
      at = line.index;
      // The default and the doc follow, wrapped and without Markdown backticks.
      const block = help.slice(at).split(/\n {2}--/)[0] as string;
      const text = block.split('\n').slice(1).join(' ').replace(/\s+/g, ' ').trim();
      const fallback = f.fallback === '' ? 'Default: none.' : `Default: ${f.fallback}.`;
      assert.equal(text, `${fallback} ${f.doc.replaceAll('`', '')}`);
    }
    for (const command of ['serve', 'check-config', 'print-config', 'gen-token', 'migrate']) {
      assert.match(help, new RegExp(`^  quick-im \\[?${command}`, 'm'), command);
    }
    assert.equal((await quickIm(['help'])).stdout, help, '`help` prints the same');
    assert.equal((await quickIm(['gen-token', '--help'])).stdout, help, 'after a command too');
  });

  it('prints the package version', async () => {
    const run = await quickIm(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `quick-im ${version}\n`);
  });

  it('refuses an unknown command and an unknown flag with exit 2 and one line', async () => {
    assertRefused(await quickIm(['frobnicate']), /unknown command "frobnicate"/);
    assertRefused(await quickIm(['check-config', '--prot', '1']), /--prot: unknown flag/);
  });
});

describe('quick-im check-config', () => {
  it('says ok with a summary, creating nothing', async () => {
    const dataDir = join(tempDir(), 'not-yet');
    const run = await quickIm(['check-config', '--port', '9999', '--data-dir', dataDir], {
      QUICKIM_HOST: '127.0.0.1',
    });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], 'ok');
    assert.ok(lines.includes('  listen    127.0.0.1:9999'), run.stdout);
    assert.ok(lines.includes(`  store     sqlite in ${dataDir}`));
    assert.ok(
      lines.includes(`  jwt key   generated into ${join(dataDir, 'jwt.key')} on first start`),
    );
    assert.equal(existsSync(dataDir), false, 'no data directory was created');
  });

  it('refuses a bad value from a flag, the environment or a config file with exit 2', async () => {
    assertRefused(
      await quickIm(['check-config', '--port', '70000']),
      /^quick-im: --port: must be an integer 0\.\.65535 \(got "70000"\)$/,
    );
    assertRefused(
      await quickIm(['check-config'], { QUICKIM_SEND_RATE: 'fast' }),
      /^quick-im: --send-rate: must be an integer/,
    );
    const file = join(tempDir(), 'bad.json');
    writeFileSync(file, JSON.stringify({ 'log-level': 'loud' }));
    assertRefused(await quickIm(['check-config', '--config', file]), /--log-level: must be one of/);
    // A shared store needs a shared key; nothing is contacted to find that out.
    assertRefused(
      await quickIm(['check-config', '--store', 'postgres://db.invalid/quickim']),
      /^quick-im: --jwt-key: the PostgreSQL store needs --jwt-key/,
    );
  });
});

describe('quick-im print-config', () => {
  it('prints every setting by flag with secrets and URL credentials redacted', async () => {
    const run = await quickIm(
      [
        'print-config',
        '--port',
        '9002',
        '--jwt-key',
        KEY,
        '--store',
        'postgres://quickim:pg-pass-1@db.example:5432/quickim?sslpassword=pg-pass-2',
        '--bus',
        'nats://nats-token-3@nats.example:4222',
        '--webhook-url',
        'https://hook-user:hook-pass-4@hooks.example/quick-im',
      ],
      { QUICKIM_PORT: '9001', QUICKIM_WEBHOOK_SECRET: WEBHOOK_SECRET, QUICKIM_DEMO: '1' },
    );
    assert.equal(run.code, 0, run.stderr);
    for (const secret of [KEY, 'pg-pass-1', 'pg-pass-2', 'nats-token-3', 'hook-pass-4']) {
      assert.ok(!run.stdout.includes(secret), `${secret} is not printed`);
    }
    assert.ok(!run.stdout.includes(WEBHOOK_SECRET.slice(6)), 'the webhook secret is not printed');
    const config = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(config),
      fields.map((f) => f.flag),
    );
    assert.equal(config.port, 9002, 'a flag beats the environment');
    assert.equal(config.demo, true);
    assert.equal(config['jwt-key'], '[redacted]');
    assert.equal(config['webhook-secret'], '[redacted]');
    assert.equal(config.store, 'postgres://***@db.example:5432/quickim?sslpassword=***');
    assert.equal(config.bus, 'nats://***@nats.example:4222');
    assert.equal(config['webhook-url'], 'https://***@hooks.example/quick-im');
    assert.equal(config['inner-allow'], '127.0.0.0/8,::1');
    assert.equal(config['trust-proxy'], '');
  });

  it('prints a config file that gives back the same settings', async () => {
    const first = await quickIm(['print-config', '--port', '7000', '--trust-proxy', '10.0.0.1']);
    assert.equal(first.code, 0, first.stderr);
    const file = join(tempDir(), 'quick-im.json');
    writeFileSync(file, first.stdout);
    const again = await quickIm(['print-config', '--config', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.equal((await quickIm(['check-config', '--config', file])).code, 0);
  });
});

describe('quick-im gen-token', () => {
  let node: NodeProcess;
  let dataDir: string;

  before(async () => {
    dataDir = tempDir();
    node = await startNodeProcess(['--data-dir', dataDir]);
  });
  after(async () => {
    await node.kill();
  });

  it("mints a token with a SQLite node's generated key that the running node accepts", async () => {
    const run = await quickIm([
      'gen-token',
      '--session',
      'alice',
      '--platform=2',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.trim();
    assert.equal(run.stdout, `${token}\n`);
    const res = await node.post('/create_conversation', { conversation_type: 0 }, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    assert.equal(claims.sid, 'alice');
    assert.equal(claims.platform, 2);
    assert.equal(claims.exp - claims.iat, 86400, '--token-ttl applies');

    // Signed with another key, the same claims are refused: the node really checks the key.
    const other = await quickIm([
      'gen-token',
      '--session',
      'alice',
      '--platform',
      '2',
      '--jwt-key',
      KEY,
    ]);
    assert.equal(other.code, 0, other.stderr);
    const refused = await node.post('/get_joined_conversation', {}, other.stdout.trim());
    assert.equal(refused.status, 401);
  });

  it('mints with the configured key for a node started with it', async () => {
    const keyed = await startNodeProcess(['--data-dir', tempDir(), '--jwt-key', KEY]);
    try {
      const run = await quickIm(['gen-token', '--session', 'bob', '--platform', '1'], {
        QUICKIM_JWT_KEY: KEY,
        QUICKIM_TOKEN_TTL: '60',
      });
      assert.equal(run.code, 0, run.stderr);
      const res = await apiNode(keyed.url).post('/get_joined_conversation', {}, run.stdout.trim());
      assert.equal(res.status, 200, JSON.stringify(res.body));
    } finally {
      await keyed.kill();
    }
  });

  it('refuses without a key to use, a session or a valid platform', async () => {
    const empty = tempDir();
    assertRefused(
      await quickIm(['gen-token', '--session', 'a', '--platform', '1', '--data-dir', empty]),
      /--jwt-key: none configured and no generated key in .*jwt\.key/,
    );
    assert.equal(existsSync(join(empty, 'jwt.key')), false, 'no key was generated');
    assertRefused(
      await quickIm([
        'gen-token',
        '--session',
        'a',
        '--platform',
        '1',
        '--store',
        'postgres://h/d',
      ]),
      /^quick-im: --jwt-key: the PostgreSQL store needs --jwt-key/,
    );
    assertRefused(
      await quickIm(['gen-token', '--platform', '1', '--jwt-key', KEY]),
      /--session: required/,
    );
    assertRefused(
      await quickIm(['gen-token', '--session', 'a', '--platform', 'web', '--jwt-key', KEY]),
      /--platform: must be a non-negative integer/,
    );
    assertRefused(
      await quickIm(['gen-token', '--session', '', '--platform', '1', '--jwt-key', KEY]),
      /session or platform out of range/,
    );
  });
});

describe('quick-im migrate', () => {
  it('creates the SQLite database with every migration in a fresh data directory', async () => {
    const dataDir = join(tempDir(), 'fresh');
    const run = await quickIm(['migrate', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `ok: sqlite store in ${dataDir} is migrated\n`);
    const db = new Database(join(dataDir, 'quick-im.db'), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), sqliteMigrations.length);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[]
      ).map((t) => t.name);
      for (const table of ['conversations', 'members', 'messages']) {
        assert.ok(tables.includes(table), `${table} in ${tables.join(', ')}`);
      }
    } finally {
      db.close();
    }
    // Again: nothing left to apply, still ok.
    assert.equal((await quickIm(['migrate', '--data-dir', dataDir])).code, 0);
  });

  it('fails with exit 1 when the PostgreSQL store cannot be reached', async () => {
    const port = await freePort();
    const run = await quickIm([
      'migrate',
      '--store',
      `postgres://quickim:secret-5@127.0.0.1:${port}/quickim`,
      '--jwt-key',
      KEY,
      '--store-timeout-ms',
      '2000',
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^quick-im: --store: cannot use PostgreSQL/m);
    assert.ok(!run.stderr.includes('secret-5'));
  });

  describe('on PostgreSQL', { skip: skipReason(postgresUnavailable()) }, () => {
    let server: PostgresServer;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.destroy();
    });

    it('applies every migration to an empty database', async () => {
      const url = await server.createDatabase();
      const run = await quickIm(['migrate', '--store', url, '--jwt-key', KEY]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^ok: postgres store postgres:\/\/.* is migrated\n$/);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ v: number }>(
          'SELECT max(version) AS v FROM quickim_schema',
        );
        assert.equal(rows[0]?.v, postgresMigrations.length);
        const tables = await client.query<{ n: string }>(
          "SELECT table_name AS n FROM information_schema.tables WHERE table_schema = 'public'",
        );
        const names = tables.rows.map((r) => r.n);
        for (const table of ['conversations', 'members', 'messages']) {
          assert.ok(names.includes(table), `${table} in ${names.join(', ')}`);
        }
      } finally {
        await client.end();
      }
    });
  });
});

describe('quick-im serve', () => {
  it('serves with `serve` named, as without, and exits 0 on SIGTERM', async () => {
    const dataDir = tempDir();
    const child = spawn(
      process.execPath,
      [MAIN_JS, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
      { cwd: REPO_ROOT, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    let address: string | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === 'listening') address = entry.address;
    });
    try {
      await waitUntil(() => address !== undefined, 20_000, 'serve to log "listening"');
      const res = await apiNode(address as string).post('/inner/get_token', {
        session: 'alice',
        platform: 1,
      });
      assert.equal(res.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await closed, 0);
  });
});
