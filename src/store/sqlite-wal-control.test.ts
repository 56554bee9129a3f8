import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitUntil } from '../../test/helpers/processes.js';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { SqliteStore } from './sqlite-store.js';
import type { AllocateMsgId, MessageDraft } from './store.js';

/** A fresh directory for one database file; `remove` deletes it with everything inside. */
function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-sqlite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('SqliteWalControl, through SqliteStore', () => {
  const alloc = new MsgIdAllocator(5);
  const allocator: AllocateMsgId = (last) => alloc.next(last);
  const draft = (conversationId: string, content: string): MessageDraft => ({
    conversationId,
    fromSession: 'alice',
    status: 0,
    type: 1,
    content,
    sendTime: Date.now() * 1000,
  });

  it('copies the WAL into the database file from a background thread while it runs', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    const store = new SqliteStore(path, { allocator, checkpointerAfterCommits: 1 });
    try {
      await store.createConversation('c1', 0, ['alice']);
      const before = statSync(path).size;
      const content = 'x'.repeat(1024);
      for (let i = 0; i < 120; i++) {
        await store.appendMessage(draft('c1', content));
      }
      // 120 KiB of messages sit in the WAL (far below SQLite's inline threshold) until checkpointed.
      await waitUntil(
        () => statSync(path).size > before + 100 * 1024,
        10_000,
        'the database file to take the WAL',
      );
    } finally {
      await store.close();
      remove();
    }
  });

  it('keeps the WAL bounded while appends never stop', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    // SQLite's own checkpoint would restart it only at 4,000 pages (~16 MiB): the background
    // thread's completing pass must do it at ~1,000.
    const store = new SqliteStore(path, {
      allocator,
      checkpointerAfterCommits: 1,
      walMaxBytes: 1000 * 4096,
      checkpointIntervalMs: 50,
    });
    try {
      await store.createConversation('c1', 0, ['alice']);
      // Commits never pause for long (4 appends of 1 KiB a millisecond) for 3 s: ~6 MiB a second.
      const until = performance.now() + 3000;
      let appended = 0;
      let walBytes = 0;
      while (performance.now() < until) {
        const content = 'x'.repeat(1000);
        const four = [1, 2, 3, 4].map(() => store.appendMessage(draft('c1', content)));
        await Promise.all(four);
        appended += 4;
        await new Promise((r) => setTimeout(r, 1));
        walBytes = Math.max(walBytes, statSync(`${path}-wal`).size);
      }
      assert.ok(appended > 4000, `only ${appended} appends`);
      // Measured: ~5 MiB at most; 16 MiB or more if only SQLite's own checkpoint restarts it.
      assert.ok(walBytes < 10 * 1024 * 1024, `WAL reached ${walBytes} bytes (${appended} appends)`);
    } finally {
      await store.close();
      remove();
    }
  });

  it('leaves no timer behind when it closes with a long WAL', async () => {
    const { dir, remove } = tempDir();
    // Any WAL is "long" here, so the last pass, run by close(), reports one to restart.
    const store = new SqliteStore(join(dir, 'quick-im.db'), {
      allocator,
      checkpointerAfterCommits: 1,
      walMaxBytes: 4096,
      checkpointIntervalMs: 60_000,
    });
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    try {
      await store.createConversation('c1', 0, ['alice']);
      for (let i = 0; i < 5; i++) {
        await store.appendMessage(draft('c1', 'x'));
      }
      const before = timers();
      await store.close();
      await new Promise((r) => setImmediate(r));
      assert.equal(timers(), before, 'a timer outlived close()');
    } finally {
      remove();
    }
  });
});
