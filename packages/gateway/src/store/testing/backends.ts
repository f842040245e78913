import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Backend, createDatabase, type Database } from '../database.js';

/**
 * The backends every store suite runs on: PGlite always, the real PostgreSQL server when
 * `KEYHOLD_TEST_DATABASE_URL` is set. A server that does not answer fails the run under CI and
 * is skipped, with the reason printed, elsewhere.
 */
const SERVER_URL = process.env.KEYHOLD_TEST_DATABASE_URL;

async function serverAnswers(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function availableBackends(): Promise<Backend[]> {
  if (!SERVER_URL) return ['pglite'];
  const problem = await serverAnswers(SERVER_URL);
  if (problem === undefined) return ['pglite', 'postgres'];
  if (process.env.CI) {
    throw new Error(`KEYHOLD_TEST_DATABASE_URL is set but the server does not answer: ${problem}`);
  }
  console.warn(`Skipping the PostgreSQL backend: KEYHOLD_TEST_DATABASE_URL does not answer (${problem})`);
  return ['pglite'];
}

export const BACKENDS: readonly Backend[] = await availableBackends();

export interface TestDatabase extends Database {
  /** The URL of the throwaway database (real server only), for `pg_dump`. */
  readonly url?: string;
}

/**
 * A fresh, migrated database for one suite: a new in-memory PGlite, or a new database
 * `keyhold_test_<random>` on the server, dropped by `close()`.
 */
export async function openTestDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') return createDatabase();
  if (!SERVER_URL) throw new Error('KEYHOLD_TEST_DATABASE_URL is not set');
  const name = `keyhold_test_${randomBytes(6).toString('hex')}`;
  await onServer(SERVER_URL, `create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), maxConnections: 5 });
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      await database.close();
      await onServer(SERVER_URL, `drop database if exists ${name} with (force)`);
    },
  };
}

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
