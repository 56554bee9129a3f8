import type Database from 'better-sqlite3';
import type { Revocation } from './revocations.js';

/** The `platform` column's value for "every platform". */
const EVERY_PLATFORM = -1;

interface RevocationRow {
  session: string;
  platform: number;
  revoked_before: number;
}

/** `SqliteStore`'s revocation statements, prepared once on its connection. */
export class SqliteRevocations {
  private readonly upsert: Database.Statement<[string, number, number], { revoked_before: number }>;
  private readonly since: Database.Statement<[number], RevocationRow>;
  private readonly deleteBefore: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(
      `INSERT INTO revocations (session, platform, revoked_before) VALUES (?, ?, ?)
       ON CONFLICT (session, platform)
       DO UPDATE SET revoked_before = max(revoked_before, excluded.revoked_before)
       RETURNING revoked_before`,
    );
    this.since = db.prepare(
      'SELECT session, platform, revoked_before FROM revocations WHERE revoked_before >= ?',
    );
    this.deleteBefore = db.prepare('DELETE FROM revocations WHERE revoked_before < ?');
  }

  revoke(session: string, platform: number | null, revokedBefore: number): number {
    const row = this.upsert.get(session, platform ?? EVERY_PLATFORM, revokedBefore);
    return row?.revoked_before ?? revokedBefore;
  }

  revocationsSince(sinceSec: number): Revocation[] {
    return this.since.all(sinceSec).map((r) => ({
      session: r.session,
      platform: r.platform === EVERY_PLATFORM ? null : r.platform,
      revokedBefore: r.revoked_before,
    }));
  }

  deleteRevocationsBefore(beforeSec: number): number {
    return this.deleteBefore.run(beforeSec).changes;
  }
}
