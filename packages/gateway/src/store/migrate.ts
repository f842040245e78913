import { type Kysely, type MigrationResultSet, Migrator } from 'kysely';
import { migrationProvider } from './migrations/index.js';

/** What a migration run did, for the CLI to print. */
export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema up to the newest migration. Safe to run on every start and from several
 * instances at once (Kysely holds an advisory lock while it migrates).
 *
 * @example
 * const { db } = await createDatabase({ url: process.env.DATABASE_URL, migrate: false });
 * const { applied } = await migrateToLatest(db);
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema.
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  return toReport(await migrator.migrateToLatest());
}

function toReport({ error, results }: MigrationResultSet): MigrationReport {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
