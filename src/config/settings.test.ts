import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { SettingsError, defaultSettings, fields, loadSettings } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'quick-im-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `content` (JSON-encoded unless a string) to a fresh file and returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Asserts a SettingsError whose message is one line starting with `<flag>:`. */
function assertRejects(load: () => unknown, flag: string): void {
  assert.throws(load, (err: unknown) => {
    assert.ok(err instanceof SettingsError, `expected a SettingsError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${flag}:`), `"${err.message}" should start with ${flag}:`);
    assert.ok(!/[\r\n]/.test(err.message), `"${err.message}" should be one line`);
    return true;
  });
}

const KEY = 'k'.repeat(32);

describe('loadSettings', () => {
  describe('defaults', () => {
    it('equal the contract "Running" table', () => {
      const s = loadSettings([], {});
      assert.equal(s.host, '0.0.0.0');
      assert.equal(s.port, 8088);
      assert.equal(s.dataDir, './data');
      assert.deepEqual(s.store, { kind: 'sqlite' });
      assert.deepEqual(s.bus, { kind: 'memory' });
      assert.equal(s.jwtKey, undefined);
      assert.deepEqual(s.innerAllow, ['127.0.0.0/8', '::1']);
      assert.deepEqual(s.trustProxy, []);
      assert.equal(s.tokenTtlSec, 86_400);
      assert.equal(s.maxContentBytes, 65_536);
      assert.equal(s.maxBodyBytes, 1_048_576);
    });

    it('name the contract flags and environment variables', () => {
      const table: Record<string, string> = {
        host: 'QUICKIM_HOST',
        port: 'QUICKIM_PORT',
        'data-dir': 'QUICKIM_DATA_DIR',
        store: 'QUICKIM_STORE',
        bus: 'QUICKIM_BUS',
        'jwt-key': 'QUICKIM_JWT_KEY',
        'inner-allow': 'QUICKIM_INNER_ALLOW',
        'trust-proxy': 'QUICKIM_TRUST_PROXY',
        'token-ttl': 'QUICKIM_TOKEN_TTL',
        'max-content-bytes': 'QUICKIM_MAX_CONTENT_BYTES',
        'max-body-bytes': 'QUICKIM_MAX_BODY_BYTES',
      };
      for (const [flag, env] of Object.entries(table)) {
        assert.equal(fields.find((f) => f.flag === flag)?.env, env, flag);
      }
    });

    it('are what defaultSettings returns, with typed overrides on top', () => {
      assert.deepEqual(defaultSettings(), loadSettings([], {}));
      const s = defaultSettings({ port: 0, host: '127.0.0.1' });
      assert.equal(s.port, 0);
      assert.equal(s.host, '127.0.0.1');
      assert.equal(s.maxBodyBytes, 1_048_576);
      assert.ok(Object.isFrozen(s));
    });
  });

  describe('precedence', () => {
    it('takes a flag over the environment over the config file over the default', () => {
      const config = configFile({ port: 1001, host: 'file-host' });
      const env = { QUICKIM_PORT: '1002', QUICKIM_HOST: 'env-host' };
      assert.equal(loadSettings(['--config', config], {}).port, 1001);
      assert.equal(loadSettings(['--config', config], env).port, 1002);
      assert.equal(loadSettings(['--config', config, '--port', '1003'], env).port, 1003);
      assert.equal(loadSettings(['--port=1004'], env).port, 1004);
      assert.equal(loadSettings([], env).port, 1002);
      assert.equal(loadSettings(['--config', config], { QUICKIM_PORT: '1002' }).host, 'file-host');
      assert.equal(loadSettings(['--config', config], env).host, 'env-host');
      assert.equal(
        loadSettings(['--host', 'flag-host', '--config', config], env).host,
        'flag-host',
      );
    });

    it('applies the same order to every setting', () => {
      const samples: Record<string, readonly [string, string, string]> = {
        'data-dir': ['/flag', '/env', '/file'],
        'token-ttl': ['11', '22', '33'],
        'max-content-bytes': ['111', '222', '333'],
        'max-body-bytes': ['2000', '3000', '4000'],
        'inner-allow': ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
        'trust-proxy': ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
        'jwt-key': ['flag-key'.repeat(4), 'env-key'.repeat(5), 'file-key'.repeat(4)],
      };
      for (const [flag, [fromFlag, fromEnv, fromFile]] of Object.entries(samples)) {
        const f = fields.find((x) => x.flag === flag);
        assert.ok(f, flag);
        const config = configFile({ [flag]: fromFile });
        const env = { [f.env]: fromEnv };
        const read = (argv: string[], e: Record<string, string>) => loadSettings(argv, e)[f.key];
        const parsed = (text: string) => f.parse(text);
        assert.deepEqual(read(['--config', config], {}), parsed(fromFile), flag);
        assert.deepEqual(read(['--config', config], env), parsed(fromEnv), flag);
        assert.deepEqual(read(['--config', config, `--${flag}`, fromFlag], env), parsed(fromFlag));
        assert.notDeepEqual(parsed(fromFile), loadSettings([], {})[f.key], flag);
      }
    });

    it('reads config keys spelled as flags or as setting keys', () => {
      const config = configFile({
        'data-dir': '/srv/im',
        tokenTtlSec: 600,
        'max-content-bytes': '1024',
        innerAllow: '10.0.0.0/8',
      });
      const s = loadSettings(['--config', config], {});
      assert.equal(s.dataDir, '/srv/im');
      assert.equal(s.tokenTtlSec, 600);
      assert.equal(s.maxContentBytes, 1024);
      assert.deepEqual(s.innerAllow, ['10.0.0.0/8']);
      assert.equal(loadSettings(['--config', configFile({ dataDir: '/x' })], {}).dataDir, '/x');
    });

    it('finds the config file through QUICKIM_CONFIG, and a --config flag wins over it', () => {
      const fromEnv = configFile({ port: 2001 });
      const fromFlag = configFile({ port: 2002 });
      assert.equal(loadSettings([], { QUICKIM_CONFIG: fromEnv }).port, 2001);
      assert.equal(loadSettings(['--config', fromFlag], { QUICKIM_CONFIG: fromEnv }).port, 2002);
    });
  });

  describe('values', () => {
    it('parses postgres:// and postgresql:// stores into the postgres variant', () => {
      const url = 'postgres://im:secret@db.internal:5432/quickim';
      const key = ['--jwt-key', KEY];
      assert.deepEqual(loadSettings(['--store', url, ...key], {}).store, { kind: 'postgres', url });
      const alt = 'postgresql://db/quickim';
      assert.deepEqual(loadSettings(key, { QUICKIM_STORE: alt }).store, {
        kind: 'postgres',
        url: alt,
      });
    });

    it('parses a nats:// bus into the nats variant when the store is shared', () => {
      const s = loadSettings(
        ['--bus', 'nats://10.0.0.5:4222', '--store', 'postgres://db/im', '--jwt-key', KEY],
        {},
      );
      assert.deepEqual(s.bus, { kind: 'nats', url: 'nats://10.0.0.5:4222' });
      assert.deepEqual(s.store, { kind: 'postgres', url: 'postgres://db/im' });
    });

    it('splits comma-separated CIDR lists, dropping blanks', () => {
      const s = loadSettings(
        ['--inner-allow', ' 10.0.0.0/8, ::1,,', '--trust-proxy', '10.1.1.1'],
        {},
      );
      assert.deepEqual(s.innerAllow, ['10.0.0.0/8', '::1']);
      assert.deepEqual(s.trustProxy, ['10.1.1.1']);
    });

    it('treats an empty jwt key as "generate one" and keeps a given key', () => {
      assert.equal(loadSettings(['--jwt-key', ''], {}).jwtKey, undefined);
      assert.equal(loadSettings(['--jwt-key', KEY], {}).jwtKey, KEY);
    });

    it('accepts port 0 and 65535', () => {
      assert.equal(loadSettings(['--port', '0'], {}).port, 0);
      assert.equal(loadSettings(['--port', '65535'], {}).port, 65_535);
    });

    it('returns a frozen object', () => {
      const s = loadSettings(['--port', '9000'], {});
      assert.ok(Object.isFrozen(s));
      assert.equal(Reflect.set(s, 'port', 1), false);
      assert.equal(s.port, 9000);
    });
  });

  describe('bad settings', () => {
    it('reject a bad port from a flag, the environment or the config file', () => {
      for (const bad of ['abc', '', '-1', '65536', '80.5', '1e3', '0x50']) {
        assertRejects(() => loadSettings(['--port', bad], {}), '--port');
      }
      assertRejects(() => loadSettings([], { QUICKIM_PORT: 'http' }), '--port');
      assertRejects(() => loadSettings(['--config', configFile({ port: 70_000 })], {}), '--port');
      assertRejects(() => loadSettings(['--config', configFile({ port: [80] })], {}), '--port');
    });

    it('reject a value holding a line break with a one-line message', () => {
      assertRejects(() => loadSettings([], { QUICKIM_PORT: '80\n81' }), '--port');
      assertRejects(() => loadSettings(['--store', 'mysql://x\r\ny'], {}), '--store');
    });

    it('reject an unknown store scheme', () => {
      for (const bad of ['mysql://db/im', 'postgres:/db', 'postgres://', 'SQLITE', '']) {
        assertRejects(() => loadSettings(['--store', bad], {}), '--store');
      }
    });

    it('reject an unknown bus scheme', () => {
      assertRejects(() => loadSettings(['--bus', 'redis://cache:6379'], {}), '--bus');
    });

    it('reject an invalid CIDR in inner-allow and trust-proxy', () => {
      for (const bad of ['10.0.0.0/33', '127.0.0.1,nonsense', '::/129']) {
        assertRejects(() => loadSettings(['--inner-allow', bad], {}), '--inner-allow');
        assertRejects(() => loadSettings([], { QUICKIM_TRUST_PROXY: bad }), '--trust-proxy');
      }
    });

    it('reject out-of-range numbers in the other settings', () => {
      assertRejects(() => loadSettings(['--token-ttl', '0'], {}), '--token-ttl');
      assertRejects(() => loadSettings(['--max-body-bytes', 'lots'], {}), '--max-body-bytes');
      assertRejects(() => loadSettings(['--max-content-bytes', '-5'], {}), '--max-content-bytes');
      assertRejects(() => loadSettings(['--log-level', 'loud'], {}), '--log-level');
      assertRejects(() => loadSettings(['--host', ' '], {}), '--host');
    });

    it('reject an unknown flag, naming it', () => {
      assertRejects(() => loadSettings(['--bogus', '1'], {}), '--bogus');
      assertRejects(() => loadSettings(['--bogus=1'], {}), '--bogus');
    });

    it('reject a flag without its value', () => {
      assertRejects(() => loadSettings(['--port'], {}), '--port');
    });

    it('reject an unknown config key', () => {
      const config = configFile({ port: 9000, colour: 'blue' });
      assertRejects(() => loadSettings(['--config', config], {}), '--config');
    });

    it('reject an unreadable or malformed config file', () => {
      const missing = join(dir, 'does-not-exist.json');
      assertRejects(() => loadSettings(['--config', missing], {}), '--config');
      assertRejects(() => loadSettings([], { QUICKIM_CONFIG: missing }), '--config');
      assertRejects(() => loadSettings(['--config', configFile('{"port": ')], {}), '--config');
      assertRejects(() => loadSettings(['--config', configFile('[1, 2]')], {}), '--config');
      assertRejects(() => loadSettings(['--config', dir], {}), '--config');
    });

    it('reject a nats bus with the embedded sqlite store', () => {
      assertRejects(() => loadSettings(['--bus', 'nats://127.0.0.1:4222'], {}), '--bus');
      assertRejects(
        () => loadSettings([], { QUICKIM_BUS: 'nats://n:4222', QUICKIM_STORE: 'sqlite' }),
        '--bus',
      );
    });
  });
});

describe('quick-im entry point', () => {
  it('exits non-zero with one stderr line naming --port when the port is bad', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('QUICKIM_')),
    );
    const child = spawn(process.execPath, ['dist/main.js', '--port', 'abc'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    assert.notEqual(code, 0);
    assert.notEqual(code, null);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `stderr: ${stderr}`);
    assert.match(lines[0] as string, /--port/);
    assert.equal(stdout, '');
  });
});
