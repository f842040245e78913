import type { Kysely } from 'kysely';
import type { Schema, VirtualKeyRow } from './schema.js';

export type VirtualKeyRecord = VirtualKeyRow;

/** What the auth module computed from a fresh key; the key itself never reaches the store. */
export interface NewVirtualKey {
  tenantId: string;
  userId?: string | null;
  /** SHA-256 of the key, lowercase hex. */
  keyHash: string;
  prefix: string;
  hint: string;
  name: string;
  expiresAt?: Date | null;
}

export async function createVirtualKey(db: Kysely<Schema>, input: NewVirtualKey): Promise<VirtualKeyRecord> {
  return db
    .insertInto('virtualKeys')
    .values({ ...input, userId: input.userId ?? null, expiresAt: input.expiresAt ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * The key with this hash, whatever its tenant (the tenant is not known yet when a request
 * arrives): system scope. Revoked and expired keys are returned too, so the caller can say why
 * it refuses them.
 */
export async function findVirtualKeyByHash(
  db: Kysely<Schema>,
  keyHash: string,
): Promise<VirtualKeyRecord | undefined> {
  return db.selectFrom('virtualKeys').selectAll().where('keyHash', '=', keyHash).executeTakeFirst();
}

export async function listVirtualKeys(
  db: Kysely<Schema>,
  tenantId: string,
  filter: { userId?: string } = {},
): Promise<VirtualKeyRecord[]> {
  let query = db.selectFrom('virtualKeys').selectAll().where('tenantId', '=', tenantId);
  if (filter.userId) query = query.where('userId', '=', filter.userId);
  return query.orderBy('createdAt').orderBy('id').execute();
}

/** Marks a key revoked (once: the first revocation time stays). */
export async function revokeVirtualKey(db: Kysely<Schema>, tenantId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('virtualKeys')
    .set({ revokedAt: new Date() })
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .where('revokedAt', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function touchVirtualKey(db: Kysely<Schema>, id: string, at: Date = new Date()): Promise<void> {
  await db.updateTable('virtualKeys').set({ lastUsedAt: at }).where('id', '=', id).execute();
}
