import { PGlite } from '@electric-sql/pglite';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Schema } from './schema.js';

export interface DatabaseOptions {
  /** A `postgres://` (or `postgresql://`) URL: use that server. Absent: embedded PGlite. */
  url?: string;
  /** PGlite's data directory. Absent: an in-memory database that vanishes on close. */
  dataDir?: string;
  /** Run pending migrations before returning (default true). */
  migrate?: boolean;
  /** Pool size for a real server (default 10). */
  maxConnections?: number;
}

export type Backend = 'pglite' | 'postgres';

export interface Database {
  readonly db: Kysely<Schema>;
  readonly backend: Backend;
  /** The embedded instance, for tools that need it (data-directory dumps). */
  readonly pglite?: PGlite;
  /** The server's URL (real server only), for connections outside the pool (LISTEN). */
  readonly url?: string;
  close(): Promise<void>;
}

/**
 * Opens the store: a real PostgreSQL when `url` is given, embedded PGlite otherwise.
 *
 * @example
 * const { db, close } = await createDatabase({ url: process.env.DATABASE_URL, dataDir: './data' });
 */
export async function createDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const plugins = [new CamelCasePlugin({ maintainNestedObjectKeys: true })];
  let database: Database;
  if (options.url !== undefined && options.url !== '') {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      // The URL may carry a password: the message does not repeat it.
      throw new Error('The database URL must start with postgres:// or postgresql://');
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      // A server that silently drops packets must fail a query (and the ledger's health check,
      // readiness, startup) within seconds rather than hang it on the OS's TCP timeout.
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection the server drops (restart, failover, admin termination) is an 'error'
    // event on the pool; unhandled it would crash the process. The pool discards that client and
    // the next query opens a new one, so there is nothing else to do.
    pool.on('error', () => undefined);
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), plugins });
    database = { db, backend: 'postgres', url: options.url, close: () => db.destroy() };
  } else {
    const pglite = new PGlite(options.dataDir);
    const db = new Kysely<Schema>({ dialect: new PGliteDialect(pglite), plugins });
    database = { db, backend: 'pglite', pglite, close: () => db.destroy() };
  }
  if (options.migrate ?? true) {
    try {
      await migrateToLatest(database.db);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}
