import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { storeContract } from '../../test/contracts/store.contract.js';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { SqliteStore } from './sqlite-store.js';
import type { MessageDraft } from './store.js';

/** A fresh directory for one database file; `remove` deletes it with everything inside. */
function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-sqlite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a pragma through a separate connection, as another process would see the file. */
function pragmaOf(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

storeContract('SqliteStore', () => {
  const { dir, remove } = tempDir();
  const store = new SqliteStore(join(dir, 'quick-im.db'));
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      remove();
    },
  });
});

describe('SqliteStore on disk', () => {
  const alloc = new MsgIdAllocator(3);
  const draft = (conversationId: string, content: string, sendTime: number): MessageDraft => ({
    conversationId,
    fromSession: 'alice',
    status: 4,
    type: 5,
    content,
    sendTime,
  });

  it('runs its migrations once and keeps everything across reopening the file', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    try {
      const first = new SqliteStore(path);
      const c = randomUUID();
      await first.createConversation(c, 9, ['alice', 'bob', 'carol']);
      await first.kick(c, ['carol']);
      await first.setArchived([c], true);
      const a = await first.appendMessage(draft(c, 'one', 1_000_001), (l) => alloc.next(l));
      const b = await first.appendMessage(draft(c, 'two', 1_000_002), (l) => alloc.next(l));
      assert.ok(a.kind === 'appended' && b.kind === 'appended');
      const before = await first.getConversation(c);
      await first.close();
      assert.equal(pragmaOf(path, 'user_version'), sqliteMigrations.length);

      // Re-running the first migration on this file would fail: its tables already exist.
      const second = new SqliteStore(path);
      try {
        assert.equal(pragmaOf(path, 'user_version'), sqliteMigrations.length);
        assert.deepEqual(await second.getConversation(c), before);
        assert.deepEqual(await second.getConversation(c), {
          ConversationID: c,
          LastMsgID: b.message.MsgId,
          LastSendTime: 1_000_002,
          IsDelete: false,
          ConversationType: 9,
          LastSendSession: 'alice',
          IsArchive: true,
        });
        assert.deepEqual(await second.history(c, 'after', null, 10), [a.message, b.message]);
        assert.deepEqual((await second.members(c)).sort(), ['alice', 'bob']);
        assert.equal(await second.joinBySelf(c, 'carol'), 'kicked');

        let floor: string | null = 'unset';
        const r = await second.appendMessage(draft(c, 'three', 1_000_003), (last) => {
          floor = last;
          return alloc.next(last);
        });
        assert.equal(floor, b.message.MsgId);
        assert.ok(r.kind === 'appended' && r.message.MsgId > b.message.MsgId);
      } finally {
        await second.close();
      }
    } finally {
      remove();
    }
  });

  it('records the schema version on a new file', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'fresh.db');
    try {
      const store = new SqliteStore(path);
      await store.close();
      assert.ok(sqliteMigrations.length > 0);
      assert.equal(pragmaOf(path, 'user_version'), sqliteMigrations.length);
    } finally {
      remove();
    }
  });

  it('keeps the database in WAL mode', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'wal.db');
    try {
      const store = new SqliteStore(path);
      try {
        assert.equal(pragmaOf(path, 'journal_mode'), 'wal');
      } finally {
        await store.close();
      }
    } finally {
      remove();
    }
  });
});
