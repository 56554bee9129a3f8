import type { PostgresDatabase } from './postgres-database.js';
import type { Revocation } from './revocations.js';

/** The `platform` column's value for "every platform". */
const EVERY_PLATFORM = -1;

const REVOKE = `INSERT INTO revocations (session, platform, revoked_before) VALUES ($1, $2, $3)
  ON CONFLICT (session, platform)
  DO UPDATE SET revoked_before = GREATEST(revocations.revoked_before, excluded.revoked_before)
  RETURNING revoked_before`;
const SINCE =
  'SELECT session, platform, revoked_before FROM revocations WHERE revoked_before >= $1';
const DELETE_BEFORE = 'DELETE FROM revocations WHERE revoked_before < $1';

/** `PostgresStore`'s revocation queries. */
export class PostgresRevocations {
  constructor(private readonly db: PostgresDatabase) {}

  async revoke(session: string, platform: number | null, revokedBefore: number): Promise<number> {
    const [row] = await this.db.rows<{ revoked_before: number }>(REVOKE, [
      session,
      platform ?? EVERY_PLATFORM,
      revokedBefore,
    ]);
    return row?.revoked_before ?? revokedBefore;
  }

  async revocationsSince(sinceSec: number): Promise<Revocation[]> {
    const rows = await this.db.rows<{ session: string; platform: number; revoked_before: number }>(
      SINCE,
      [sinceSec],
    );
    return rows.map((r) => ({
      session: r.session,
      platform: r.platform === EVERY_PLATFORM ? null : r.platform,
      revokedBefore: r.revoked_before,
    }));
  }

  async deleteRevocationsBefore(beforeSec: number): Promise<number> {
    const { rowCount } = await this.db.query(DELETE_BEFORE, [beforeSec]);
    return rowCount ?? 0;
  }
}
