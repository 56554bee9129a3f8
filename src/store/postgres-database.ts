import pg from 'pg';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { UnavailableError } from '../domain/errors.js';
import { postgresMigrations } from './migrations/postgres.js';
import { prepared } from './postgres-statements.js';

// Serializes migrations of several nodes starting at once.
const MIGRATION_LOCK = 7_401_335;

// BIGINT columns (microsecond times) fit a double exactly; everything else as pg parses it.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresDatabaseOptions {
  readonly url: string;
  /** Longest wait for a connection or a query before it fails as unavailable. */
  readonly timeoutMs: number;
  readonly poolSize?: number;
  readonly onError?: (err: Error) => void;
}

/** Errors that mean the database cannot answer now, as opposed to a bad statement. */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^(08|53|57|58)/.test(code)) return true; // connection, resources, shutdown, system
  if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, …
  const message = typeof e.message === 'string' ? e.message : '';
  return /timeout|terminat|Connection|connect|pool/i.test(message);
}

function unavailable(err: unknown): never {
  if (isUnavailable(err)) throw new UnavailableError('store unavailable');
  throw err;
}

/**
 * A `pg` pool as the stores use it: every query a named prepared statement, a lost or
 * timed-out database reported as `UnavailableError`, transactions on one pooled client.
 */
export class PostgresDatabase {
  private readonly pool: pg.Pool;

  constructor(options: PostgresDatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      statement_timeout: options.timeoutMs,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  /** Runs pending migrations, one node at a time. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS quickim_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM quickim_schema',
      );
      for (let v = rows[0]?.v ?? 0; v < postgresMigrations.length; v++) {
        await client.query('BEGIN');
        await client.query(postgresMigrations[v] as string);
        await client.query('INSERT INTO quickim_schema (version) VALUES ($1)', [v + 1]);
        await client.query('COMMIT');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
  }

  /** One statement outside a transaction. */
  async query<R extends QueryResultRow>(
    text: string,
    values: readonly unknown[],
  ): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>(prepared(text, values));
    } catch (err) {
      return unavailable(err);
    }
  }

  /** The rows of one statement outside a transaction (on the send path: one await, no more). */
  async rows<R extends QueryResultRow>(text: string, values: readonly unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(prepared(text, values))).rows;
    } catch (err) {
      return unavailable(err);
    }
  }

  /** Runs `fn` in a transaction on one pooled client; rolls back on any failure. */
  async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return unavailable(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = isUnavailable(err);
      // A connection that timed out or broke would make ROLLBACK wait out a second timeout;
      // destroying it (release(true)) rolls the transaction back on the server instead.
      if (!broken) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      return unavailable(err);
    } finally {
      client.release(broken);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
