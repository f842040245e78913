import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

/** What the store keeps about a master key version: its check value, never the key. */
export interface VaultKeyRecord {
  version: number;
  checkValue: Buffer;
  createdAt: Date;
  retiredAt: Date | null;
}

export async function listVaultKeys(db: Kysely<Schema>): Promise<VaultKeyRecord[]> {
  const rows = await db.selectFrom('vaultKeys').selectAll().orderBy('version').execute();
  return rows.map((r) => ({ ...r, checkValue: Buffer.from(r.checkValue) }));
}

/** Records a new key version's check value; an existing record is kept (first writer wins). */
export async function recordVaultKey(
  db: Kysely<Schema>,
  version: number,
  checkValue: Uint8Array,
): Promise<void> {
  await db
    .insertInto('vaultKeys')
    .values({ version, checkValue })
    .onConflict((oc) => oc.column('version').doNothing())
    .execute();
}

export async function markVaultKeyRetired(
  db: Kysely<Schema>,
  version: number,
  at: Date = new Date(),
): Promise<void> {
  await db.updateTable('vaultKeys').set({ retiredAt: at }).where('version', '=', version).execute();
}
