import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SettingsError, loadSettings } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'quick-im-settings-safety-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = 'k'.repeat(32);

let files = 0;
/** Writes `content` to a fresh file and returns its path. */
function configFile(content: string): string {
  const path = join(dir, `file-${files++}`);
  writeFileSync(path, content);
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

describe('safe defaults in settings', () => {
  it('refuse a signing key shorter than 32 bytes without echoing it', () => {
    assertRejects(
      () => loadSettings(['--jwt-key', 'short-secret-31-bytes-long-xxxx'], {}),
      '--jwt-key',
    );
    assert.throws(
      () => loadSettings(['--jwt-key', 'short-secret'], {}),
      (err: Error) => !err.message.includes('short-secret') && /32 bytes/.test(err.message),
    );
    assert.equal(loadSettings([], { QUICKIM_JWT_KEY: 'é'.repeat(16) }).jwtKey, 'é'.repeat(16));
  });

  it('read the key from --jwt-key-file, one trailing newline ignored', () => {
    const path = configFile(`${KEY}\n`);
    assert.equal(loadSettings(['--jwt-key-file', path], {}).jwtKey, KEY);
    assert.equal(loadSettings([], { QUICKIM_JWT_KEY_FILE: configFile(`${KEY}\r\n`) }).jwtKey, KEY);
    assertRejects(
      () => loadSettings(['--jwt-key-file', configFile('tiny\n')], {}),
      '--jwt-key-file',
    );
    assertRejects(
      () => loadSettings(['--jwt-key-file', join(dir, 'missing.key')], {}),
      '--jwt-key-file',
    );
    assertRejects(
      () => loadSettings(['--jwt-key-file', path, '--jwt-key', KEY], {}),
      '--jwt-key-file',
    );
  });

  it('refuse the PostgreSQL store without a configured key', () => {
    assertRejects(() => loadSettings(['--store', 'postgres://db/im'], {}), '--jwt-key');
    const s = loadSettings(['--store', 'postgres://db/im', '--jwt-key-file', configFile(KEY)], {});
    assert.equal(s.jwtKey, KEY);
  });

  it('never echo a database password or a bus credential in an error', () => {
    const bad = (argv: string[]) => {
      try {
        loadSettings(argv, {});
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail('expected a SettingsError');
    };
    for (const url of ['postgres:/im:hunter2-pw@db/im', 'mysql://im:hunter2-pw@db/im']) {
      const store = bad(['--store', url]);
      assert.match(store, /^--store: /);
      assert.ok(!store.includes('hunter2'), store);
    }
    const bus = bad(['--bus', 'redis://u:hunter2-pw@bus:1']);
    assert.ok(!bus.includes('hunter2'), bus);
    assert.match(bus, /^--bus: /);
    const token = bad(['--bus', 'nat://hunter2-token@bus:1']);
    assert.ok(!token.includes('hunter2'), token);
  });

  it('turn the demo on with --demo alone, and leave it off by default', () => {
    assert.equal(loadSettings([], {}).demo, false);
    assert.equal(loadSettings(['--demo'], {}).demo, true);
    assert.equal(loadSettings(['--demo', '--port', '1'], {}).demo, true);
    assert.equal(loadSettings(['--demo', 'false'], {}).demo, false);
    assert.equal(loadSettings([], { QUICKIM_DEMO: 'true' }).demo, true);
  });

  it('default the limits as EXTENSIONS.md says', () => {
    const s = loadSettings([], {});
    assert.equal(s.requestTimeoutMs, 30_000);
    assert.equal(s.maxConnections, 50_000);
    assert.equal(s.sendRate, 20);
    assert.equal(s.joinRate, 60);
    assert.equal(s.shutdownGraceMs, 10_000);
    assert.equal(loadSettings(['--send-rate', '0', '--join-rate', '0'], {}).sendRate, 0);
  });
});

describe('webhook settings', () => {
  const secret = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
  const url = 'https://backend.example/hooks';

  it('take an http(s) URL with a whsec_ secret', () => {
    const s = loadSettings(['--webhook-url', url, '--webhook-secret', secret], {});
    assert.equal(s.webhookUrl, url);
    assert.equal(s.webhookSecret, secret);
    assert.equal(s.webhookMaxInFlight, 16);
    assert.equal(loadSettings([], {}).webhookUrl, undefined);
  });

  it('refuse a URL without a secret', () => {
    assertRejects(() => loadSettings(['--webhook-url', url], {}), '--webhook-secret');
  });

  it('refuse a secret that is not whsec_ and base64 of 24 bytes, without echoing it', () => {
    for (const bad of [
      'hunter2-not-a-secret',
      `whsec_${Buffer.alloc(23, 9).toString('base64')}`,
      'whsec_hunter2!!',
      Buffer.alloc(24, 9).toString('base64'),
    ]) {
      assertRejects(
        () => loadSettings(['--webhook-url', url, '--webhook-secret', bad], {}),
        '--webhook-secret',
      );
      assert.throws(
        () => loadSettings(['--webhook-url', url, '--webhook-secret', bad], {}),
        (err: Error) => !err.message.includes(bad) && !err.message.includes('hunter2'),
      );
    }
  });

  it('refuse a URL that is not http or https', () => {
    for (const bad of ['ftp://backend.example/x', 'backend.example/x', 'file:///etc/passwd']) {
      assertRejects(
        () => loadSettings(['--webhook-url', bad, '--webhook-secret', secret], {}),
        '--webhook-url',
      );
    }
  });

  it('read the secret from --webhook-secret-file', () => {
    const path = configFile(`${secret}\n`);
    const s = loadSettings(['--webhook-url', url, '--webhook-secret-file', path], {});
    assert.equal(s.webhookSecret, secret);
    assertRejects(
      () => loadSettings(['--webhook-secret-file', path, '--webhook-secret', secret], {}),
      '--webhook-secret-file',
    );
    assertRejects(
      () => loadSettings(['--webhook-secret-file', configFile('whsec_short\n')], {}),
      '--webhook-secret-file',
    );
  });
});
