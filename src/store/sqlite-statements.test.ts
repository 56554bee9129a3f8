import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { prepareStatements } from './sqlite-statements.js';
import { SqliteStore } from './sqlite-store.js';

interface PlanRow {
  readonly detail: string;
}

describe('SqliteStore resume reads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quick-im-plan-'));
  let db: Database.Database;
  let q: ReturnType<typeof prepareStatements>;

  before(async () => {
    const path = join(dir, 'quick-im.db');
    const ids = new MsgIdAllocator(1);
    const store = new SqliteStore(path, { allocator: (last) => ids.next(last) });
    // Enough history that a scan would cost: 20 conversations of 50 messages.
    for (let c = 0; c < 20; c++) {
      await store.createConversation(`c${c}`, 0, ['alice', 'bob']);
      for (let i = 0; i < 50; i++) {
        await store.appendMessage({
          conversationId: `c${c}`,
          fromSession: 'bob',
          status: 0,
          type: 0,
          content: `m${i}`,
          sendTime: 0,
        });
      }
    }
    await store.close();
    db = new Database(path);
    db.exec('ANALYZE');
    q = prepareStatements(db);
  });

  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `EXPLAIN QUERY PLAN` of a statement, one line per step. */
  function plan(statement: { readonly source: string }, ...args: unknown[]): string[] {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all(...args) as PlanRow[];
    return rows.map((r) => r.detail);
  }

  it('plans from ids read per conversation off the (conversation_id, msg_id) index alone', () => {
    const steps = plan(q.newestIdsAfter, 'c1', '0', 1000);
    assert.deepEqual(
      steps,
      [
        'SEARCH messages USING COVERING INDEX sqlite_autoindex_messages_1 (conversation_id=? AND msg_id>?)',
      ],
      'no scan, no sort, no row read',
    );
  });

  it("reads a page's range of one conversation off the same index, already in order", () => {
    const steps = plan(q.rangeAsc, 'c1', '0', 'z', 100);
    assert.equal(steps.length, 1, steps.join('; '));
    assert.match(
      steps[0] as string,
      /^SEARCH messages USING INDEX sqlite_autoindex_messages_1 \(conversation_id=\? AND msg_id>\? AND msg_id<\?\)$/,
    );
  });

  it("finds a session's conversations from the members index", () => {
    const steps = plan(q.joined, 'alice');
    assert.ok(
      steps.some((s) => s.startsWith('SEARCH members USING INDEX members_by_session')),
      steps.join('; '),
    );
  });
});
