import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { expectOk } from '../helpers/http.js';
import { startServer, tempDataDir } from '../helpers/server.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const octal = (mode: number): string => mode.toString(8);

describe('files the server writes', () => {
  const roots: string[] = [];
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  /** A data directory path under a fresh root, not created yet. */
  function freshDataDir(): string {
    const root = tempDataDir();
    roots.push(root);
    return join(root, 'nested', 'data');
  }

  it('creates the data directory 0700 and the database, -wal, -shm and key 0600, whatever the umask', async () => {
    const dataDir = freshDataDir();
    assert.equal(existsSync(dataDir), false);
    // The loosest umask: every mode below comes from the server, not from the umask.
    const umask = process.umask(0);
    let server;
    try {
      server = await startServer({ dataDir });
    } finally {
      process.umask(umask);
    }
    try {
      const token = await server.token('alice');
      const id = await server.createConversation(['alice']);
      const sent = { conversation_id: id, status: 0, type: 0, content: 'private' };
      expectOk(await server.post('/send_msg', sent, token));
      assert.equal(octal(modeOf(dataDir)), octal(0o700));
      assert.equal(octal(modeOf(join(dataDir, '..'))), octal(0o700));
      for (const file of ['quick-im.db', 'quick-im.db-wal', 'quick-im.db-shm', 'jwt.key']) {
        assert.equal(octal(modeOf(join(dataDir, file))), octal(0o600), file);
      }
    } finally {
      await server.close();
    }
  });

  it('narrows database files left readable by others, and keeps (with a warning) a data directory the operator opened', async () => {
    const dataDir = freshDataDir();
    const first = await startServer({ dataDir });
    await first.close();
    chmodSync(dataDir, 0o755);
    for (const file of ['quick-im.db', 'quick-im.db-wal', 'quick-im.db-shm']) {
      const path = join(dataDir, file);
      if (existsSync(path)) chmodSync(path, 0o644);
    }
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const second = await startServer({ dataDir }, { logger });
    try {
      assert.equal(octal(modeOf(join(dataDir, 'quick-im.db'))), octal(0o600));
      for (const file of ['quick-im.db-wal', 'quick-im.db-shm']) {
        const path = join(dataDir, file);
        if (existsSync(path)) assert.equal(octal(modeOf(path)), octal(0o600), file);
      }
      assert.equal(octal(modeOf(dataDir)), octal(0o755));
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.dataDir === dataDir);
      assert.ok(warning, lines.join(''));
      assert.equal(warning.mode, '755');
    } finally {
      await second.close();
    }
  });
});
