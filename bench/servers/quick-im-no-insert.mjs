/**
 * Measurement only, never shipped: quick-im exactly as `dist/main.js` runs it, except that the
 * statement inserting each message row is not executed (its transaction, commit, membership
 * check, id allocation, fan-out and everything else still are). `npm run bench -- fanout
 * --no-insert-row` runs it beside quick-im to show what storing each message costs.
 * Plain JavaScript, so no loader thread is added to the process being measured.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (sql) {
  const stmt = prepare.call(this, sql);
  if (!/^\s*INSERT INTO messages\b/.test(sql)) return stmt;
  return new Proxy(stmt, {
    get(target, prop, receiver) {
      if (prop === 'run') return () => ({ changes: 1, lastInsertRowid: 0 });
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};

await import('../../dist/main.js');
