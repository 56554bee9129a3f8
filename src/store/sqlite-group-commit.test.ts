import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteGroupCommit } from './sqlite-group-commit.js';

/** A group commit over an in-memory table, counting its commits and rollbacks. */
function setup(maxWrites: number): {
  commits: SqliteGroupCommit;
  count: { commits: number; rollbacks: number };
  insert: (v: number) => Promise<number>;
  rows: () => number[];
} {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v INTEGER NOT NULL CHECK (v >= 0))');
  const count = { commits: 0, rollbacks: 0 };
  const commits = new SqliteGroupCommit(db, maxWrites, {
    beforeWrite: () => {},
    onRollback: () => count.rollbacks++,
    onCommit: () => count.commits++,
  });
  const stmt = db.prepare<[number]>('INSERT INTO t (v) VALUES (?)');
  return {
    commits,
    count,
    insert: (v) => commits.enqueue(() => Number(stmt.run(v).lastInsertRowid)),
    rows: () =>
      db
        .prepare<[], { v: number }>('SELECT v FROM t ORDER BY rowid')
        .all()
        .map((r) => r.v),
  };
}

/** Resolves after the timers phase of the next turn: a commit waiting on a timer would be seen. */
const nextTimer = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('SqliteGroupCommit', () => {
  it('commits a lone write when its turn ends, with no window to wait out', async () => {
    const { insert, count, rows } = setup(1000);
    const written = insert(1);
    assert.equal(count.commits, 0, 'committed before the turn ended');
    // The commit's setImmediate was queued before this one.
    await new Promise((r) => setImmediate(r));
    assert.equal(count.commits, 1);
    assert.equal(await written, 1);
    assert.equal(count.commits, 1);
    assert.deepEqual(rows(), [1]);
  });

  it('commits the writes of one turn together, and those of the next turn apart', async () => {
    const { insert, count, rows } = setup(1000);
    await Promise.all([1, 2, 3, 4, 5].map(insert));
    assert.equal(count.commits, 1);
    await nextTimer();
    await Promise.all([6, 7].map(insert));
    assert.equal(count.commits, 2);
    assert.deepEqual(rows(), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts a new commit each time maxWrites are waiting', async () => {
    const { insert, count, rows } = setup(3);
    const all = [1, 2, 3, 4, 5, 6, 7].map(insert);
    // Two full commits ran as the third and sixth writes arrived; the seventh waits for the turn's end.
    assert.equal(count.commits, 2);
    await Promise.all(all);
    assert.equal(count.commits, 3);
    assert.deepEqual(rows(), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('fails only the failing write of a shared commit', async () => {
    const { insert, count, rows } = setup(1000);
    const results = await Promise.allSettled([insert(1), insert(-1), insert(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok(count.rollbacks >= 1);
    assert.deepEqual(rows(), [1, 2]);
  });

  it('waits while held, and commits what waited once released', async () => {
    const { commits, insert, count, rows } = setup(2);
    let release = (): void => {};
    commits.holdWhile(() => new Promise<void>((r) => (release = r)));
    const waiting = [1, 2, 3].map(insert);
    await nextTimer();
    assert.equal(count.commits, 0, 'committed while held');
    release();
    await Promise.all(waiting);
    assert.deepEqual(rows(), [1, 2, 3]);
  });

  it('commits what waits when flushed, without waiting for the turn to end', () => {
    const { commits, insert, count, rows } = setup(1000);
    void insert(1);
    commits.flush();
    assert.equal(count.commits, 1);
    assert.deepEqual(rows(), [1]);
  });
});
