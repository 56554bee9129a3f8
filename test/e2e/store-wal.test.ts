import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { expectOk } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';

/** Sends ~4.8 MB of messages and returns the largest size the SQLite WAL file reached. */
async function walPeakAfterSending(walMaxMb?: number): Promise<number> {
  const server = await startServer(walMaxMb === undefined ? {} : { walMaxMb });
  try {
    const token = await server.token('alice');
    const id = await server.createConversation(['alice']);
    const content = 'x'.repeat(60_000);
    let peak = 0;
    for (let i = 0; i < 80; i++) {
      const body = { conversation_id: id, status: 0, type: 0, content };
      expectOk(await server.post('/send_msg', body, token));
      peak = Math.max(peak, statSync(join(server.dataDir, 'quick-im.db-wal')).size);
    }
    return peak;
  } finally {
    await server.close(true);
  }
}

describe('--wal-max-mb', () => {
  it('bounds the SQLite WAL file: restarted near the size given, not the 40 MiB default', async () => {
    const bounded = await walPeakAfterSending(1);
    assert.ok(bounded < 2 * 1024 * 1024, `WAL reached ${bounded} bytes with --wal-max-mb 1`);
    const unbounded = await walPeakAfterSending();
    assert.ok(unbounded > 4 * 1024 * 1024, `WAL reached ${unbounded} bytes by default`);
  });
});
