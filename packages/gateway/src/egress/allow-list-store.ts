import type { ColumnType, Kysely } from 'kysely';
import type { Schema } from '../store/schema.js';

/** The allow-list table (migration 0003); not part of the tenant schema. */
type EgressTables = {
  egressAllowList: { entry: string; createdAt: ColumnType<Date, Date | undefined, never> };
};

// biome-ignore lint/suspicious/noExplicitAny: works on the store's schema or any extension of it.
const egress = (db: Kysely<any>) => (db as Kysely<Schema>).withTables<EgressTables>();

/** The stored allow-list entries, sorted. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export async function loadAllowList(db: Kysely<any>): Promise<string[]> {
  const rows = await egress(db).selectFrom('egressAllowList').select('entry').orderBy('entry').execute();
  return rows.map((r) => r.entry);
}

/** Replaces the stored allow-list with `entries` (already normalised) in one transaction. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export async function saveAllowList(db: Kysely<any>, entries: readonly string[]): Promise<void> {
  const run = async (trx: Kysely<Schema & EgressTables>) => {
    await trx.deleteFrom('egressAllowList').execute();
    if (entries.length > 0) {
      await trx
        .insertInto('egressAllowList')
        .values(entries.map((entry) => ({ entry })))
        .execute();
    }
  };
  const scoped = egress(db);
  await (scoped.isTransaction ? run(scoped) : scoped.transaction().execute(run));
}
