import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** Owner read and write only: messages and member lists are nobody else's business. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates the database file at `path` with mode 0600 unless it exists, and takes every group
 * and other permission away from it and from any `-wal` / `-shm` beside it. Run before SQLite opens it: SQLite creates `-wal`,
 * `-shm` and `-journal` with the database file's own mode, so all of them stay private
 * whatever the umask. In-memory and URI paths are left alone.
 */
export function makeSqliteFilesPrivate(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  // 'a' creates without truncating; the umask can only remove bits from 0600.
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
  }
}
