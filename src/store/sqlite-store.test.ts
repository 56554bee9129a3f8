import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { storeContract } from '../../test/contracts/store.contract.js';
import type { StoreFactory } from '../../test/contracts/store-fixtures.js';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import { MemberState } from './member-state.js';
import { SqliteStore } from './sqlite-store.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { AllocateMsgId, MessageDraft, Store } from './store.js';

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

/** A fresh store with the given allocator and options, in a directory removed by cleanup. */
function storeFactory(options: Omit<SqliteStoreOptions, 'allocator'> = {}): StoreFactory<Store> {
  return (allocator) => {
    const { dir, remove } = tempDir();
    const store = new SqliteStore(join(dir, 'quick-im.db'), { ...options, allocator });
    return Promise.resolve({
      store,
      cleanup: async () => {
        await store.close();
        remove();
      },
    });
  };
}

storeContract('SqliteStore', storeFactory());
storeContract('SqliteStore committing one write at a time', storeFactory({ commitMaxWrites: 1 }));

/** Current members of a conversation, read from the file by a connection of its own. */
function membersIn(path: string, conversationId: string): string[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string, number], { session: string }>(
        'SELECT session FROM members WHERE conversation_id = ? AND state = ? ORDER BY session',
      )
      .all(conversationId, MemberState.Member)
      .map((r) => r.session);
  } finally {
    db.close();
  }
}

/**
 * Resolves with what `p` resolves to, failing if it is still pending after two turns of the
 * event loop (two `setImmediate`s: the commit's own is queued before them): a write must not
 * wait for a timer or a window.
 */
async function withinTurns<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = p.finally(() => (settled = true));
  for (let i = 0; i < 2 && !settled; i++) await new Promise((r) => setImmediate(r));
  assert.equal(settled, true, 'the write waited past the end of its turn');
  return tracked;
}

describe('SqliteStore group commit', () => {
  const alloc = new MsgIdAllocator(4);
  const allocator: AllocateMsgId = (last) => alloc.next(last);
  const draft = (conversationId: string, content: string): MessageDraft => ({
    conversationId,
    fromSession: 'alice',
    status: 0,
    type: 1,
    content,
    sendTime: Date.now() * 1000,
  });

  /**
   * The WAL's size: each commit appends the pages it changed, so the growth over a few writes
   * counts their commits (the store checkpoints only past `--wal-max-mb`).
   */
  const walFrames = (path: string): number => statSync(`${path}-wal`).size;

  it('commits a lone append within its own turn, and the appends of one turn together', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    const store = new SqliteStore(path, { allocator });
    try {
      await store.createConversation('c1', 0, ['alice']);
      // A lone append: committed when the turn it arrived in ends, not after a window.
      const first = await withinTurns(store.appendMessage(draft('c1', 'one')));
      assert.equal(first.kind, 'appended');

      // Ten appends in one turn: one commit, so the WAL grows by one commit's frames (the
      // messages page and its indexes), not ten commits' worth.
      const before = walFrames(path);
      await store.appendMessage(draft('c1', 'two'));
      const oneCommit = walFrames(path) - before;
      const afterOne = walFrames(path);
      const burst = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.appendMessage(draft('c1', `b${i}`))),
      );
      assert.ok(burst.every((r) => r.kind === 'appended'));
      const burstGrowth = walFrames(path) - afterOne;
      assert.ok(
        burstGrowth <= oneCommit,
        `burst grew the WAL by ${burstGrowth}, one commit by ${oneCommit}`,
      );
      const history = await store.messagesAfter('c1', null, 20);
      assert.deepEqual(
        history.map((m) => m.Content),
        ['one', 'two', ...Array.from({ length: 10 }, (_, i) => `b${i}`)],
      );
    } finally {
      await store.close();
      remove();
    }
  });

  it('splits the writes of one turn into commits of --commit-max-writes', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    const store = new SqliteStore(path, { allocator, commitMaxWrites: 1 });
    try {
      await store.createConversation('c1', 0, ['alice']);
      await store.appendMessage(draft('c1', 'zero'));
      const before = walFrames(path);
      await store.appendMessage(draft('c1', 'one'));
      const oneCommit = walFrames(path) - before;
      const afterOne = walFrames(path);
      await Promise.all([1, 2, 3].map((i) => store.appendMessage(draft('c1', `b${i}`))));
      // Three writes, one per commit: three commits' worth of frames.
      assert.equal(walFrames(path) - afterOne, 3 * oneCommit);
    } finally {
      await store.close();
      remove();
    }
  });

  it('saves a poll cursor through the group commit, within the turn it was asked in', async () => {
    const { dir, remove } = tempDir();
    const store = new SqliteStore(join(dir, 'quick-im.db'), { allocator });
    try {
      await store.createConversation('c1', 0, ['alice']);
      const first = await store.appendMessage(draft('c1', 'one'));
      const msgId = first.kind === 'appended' ? first.message.MsgId : '';
      await withinTurns(
        Promise.all([
          store.appendMessage(draft('c1', 'two')),
          store.savePollCursor('alice', 1, msgId, Date.now()),
        ]),
      );
      assert.equal(await store.pollCursor('alice', 1, 0), msgId);
    } finally {
      await store.close();
      remove();
    }
  });

  it('fails only the write that fails, and keeps allocating after the last stored id', async () => {
    const { dir, remove } = tempDir();
    // While armed, the allocator fails every append that does not follow 'one' directly: in
    // the shared commit and alone, that is 'broken' (after 'two'), never 'two'.
    let oneId: string | null = null;
    let armed = false;
    const failing: AllocateMsgId = (last) => {
      if (armed && last !== oneId) throw new Error('allocator failed');
      return alloc.next(last);
    };
    const store = new SqliteStore(join(dir, 'quick-im.db'), {
      allocator: failing,
    });
    try {
      await store.createConversation('c1', 0, ['alice']);
      const one = await store.appendMessage(draft('c1', 'one'));
      oneId = one.kind === 'appended' ? one.message.MsgId : null;
      armed = true;
      // Same commit: 'two' is written first, then the transaction rolls back on 'broken'.
      const kept = store.appendMessage(draft('c1', 'two'));
      const broken = store.appendMessage(draft('c1', 'broken'));
      await assert.rejects(broken, /allocator failed/);
      armed = false;
      const two = await kept;
      const three = await store.appendMessage(draft('c1', 'three'));
      const history = await store.messagesAfter('c1', null, 10);
      assert.deepEqual(
        history.map((m) => m.Content),
        ['one', 'two', 'three'],
      );
      assert.ok(two.kind === 'appended' && three.kind === 'appended');
      // Each message names the one stored before it, never an id that was rolled back.
      assert.equal(three.previousMsgId, two.message.MsgId);
      assert.equal(two.previousMsgId, history[0]?.MsgId);
    } finally {
      await store.close();
      remove();
    }
  });

  it('sees members and messages another connection changed in the file', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    const store = new SqliteStore(path, { allocator: (l) => alloc.next(l) });
    const other = new Database(path);
    try {
      await store.createConversation('c1', 0, ['alice', 'bob']);
      const one = await store.appendMessage(draft('c1', 'one'));
      assert.equal(one.kind, 'appended');
      // A message written by someone else: the next append must follow it.
      const foreignId = alloc.next(one.kind === 'appended' ? one.message.MsgId : null);
      other
        .prepare(
          `INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
           VALUES ('c1', ?, 'bob', 0, 0, 1, 'foreign')`,
        )
        .run(foreignId);
      const two = await store.appendMessage(draft('c1', 'two'));
      assert.ok(two.kind === 'appended');
      assert.equal(two.previousMsgId, foreignId);
      // alice removed by someone else: her next append is refused.
      other.prepare("UPDATE members SET state = 2 WHERE session = 'alice'").run();
      const three = await store.appendMessage(draft('c1', 'three'));
      assert.equal(three.kind, 'not-member');
    } finally {
      other.close();
      await store.close();
      remove();
    }
  });

  it('commits the appends still waiting when it is closed', async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'quick-im.db');
    try {
      const store = new SqliteStore(path, { allocator });
      await store.createConversation('c1', 0, ['alice']);
      await store.appendMessage(draft('c1', 'one'));
      const waiting = store.appendMessage(draft('c1', 'two'));
      await store.close();
      assert.equal((await waiting).kind, 'appended');
      const reopened = new SqliteStore(path, { allocator: (l) => alloc.next(l) });
      try {
        const history = await reopened.messagesAfter('c1', null, 10);
        assert.deepEqual(
          history.map((m) => m.Content),
          ['one', 'two'],
        );
      } finally {
        await reopened.close();
      }
    } finally {
      remove();
    }
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
      const first = new SqliteStore(path, { allocator: (l) => alloc.next(l) });
      const c = randomUUID();
      await first.createConversation(c, 9, ['alice', 'bob', 'carol']);
      await first.kick(c, ['carol']);
      await first.setArchived([c], true);
      const a = await first.appendMessage(draft(c, 'one', 1_000_001));
      const b = await first.appendMessage(draft(c, 'two', 1_000_002));
      assert.ok(a.kind === 'appended' && b.kind === 'appended');
      const before = await first.getConversation(c);
      await first.close();
      assert.equal(pragmaOf(path, 'user_version'), sqliteMigrations.length);

      // Re-running the first migration on this file would fail: its tables already exist.
      const floors: (string | null)[] = [];
      const second = new SqliteStore(path, {
        allocator: (last) => {
          floors.push(last);
          return alloc.next(last);
        },
      });
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
        assert.deepEqual(await second.messagesAfter(c, null, 10), [a.message, b.message]);
        assert.deepEqual(membersIn(path, c), ['alice', 'bob']);
        assert.equal(await second.joinBySelf(c, 'carol'), 'kicked');

        const r = await second.appendMessage(draft(c, 'three', 1_000_003));
        assert.deepEqual(floors, [b.message.MsgId]);
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
      const store = new SqliteStore(path, { allocator: (l) => alloc.next(l) });
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
      const store = new SqliteStore(path, { allocator: (l) => alloc.next(l) });
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
