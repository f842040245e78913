import type { Kysely } from 'kysely';
import type { Schema, TenantRow, TenantSettings, TenantStatus } from './schema.js';

export type Tenant = TenantRow;

export interface NewTenant {
  name: string;
  status?: TenantStatus;
  settings?: TenantSettings;
}

export interface TenantPatch {
  name?: string;
  status?: TenantStatus;
  settings?: TenantSettings;
}

/** Creates a tenant (operator scope). */
export async function createTenant(db: Kysely<Schema>, input: NewTenant): Promise<Tenant> {
  return db
    .insertInto('tenants')
    .values({ name: input.name, status: input.status, settings: JSON.stringify(input.settings ?? {}) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getTenant(db: Kysely<Schema>, id: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Tenants in creation order, a page at a time (`after`: the last id of the previous page). */
export async function listTenants(
  db: Kysely<Schema>,
  page: { limit?: number; after?: string } = {},
): Promise<Tenant[]> {
  let query = db
    .selectFrom('tenants')
    .selectAll()
    .orderBy('id')
    .limit(page.limit ?? 100);
  if (page.after) query = query.where('id', '>', page.after);
  return query.execute();
}

/** Replaces the given fields; `settings` is replaced whole. */
export async function updateTenant(
  db: Kysely<Schema>,
  id: string,
  patch: TenantPatch,
): Promise<Tenant | undefined> {
  return db
    .updateTable('tenants')
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.status === undefined ? {} : { status: patch.status }),
      ...(patch.settings === undefined ? {} : { settings: JSON.stringify(patch.settings) }),
      updatedAt: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes a tenant and, by cascade, its users, groups, keys and credentials. Audit events stay. */
export async function deleteTenant(db: Kysely<Schema>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
