import { type Kysely, sql, type Transaction } from 'kysely';
import { TENANT_ROLE } from './migrations/0002-row-level-security.js';
import type { Schema } from './schema.js';

export { TENANT_ROLE };

/**
 * Runs `fn` in a transaction that can see and write only `tenantId`'s rows, whatever ids its
 * queries name: the transaction switches to the non-superuser role `keyhold_tenant` and sets
 * `keyhold.tenant_id`, both local to the transaction, and row-level security does the rest
 * (see migrations/0002-row-level-security.ts). A forged id in a query finds nothing; an insert
 * into another tenant fails.
 *
 * `fn` must use the transaction it is given, not the outer `db`.
 *
 * @example
 * const users = await withTenant(db, tenantId, (trx) => trx.selectFrom('users').selectAll().execute());
 */
export async function withTenant<T>(
  db: Kysely<Schema>,
  tenantId: string,
  fn: (trx: Transaction<Schema>) => Promise<T>,
): Promise<T> {
  if (!UUID.test(tenantId)) throw new TypeError('withTenant needs a tenant id in UUID form');
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('keyhold.tenant_id', ${tenantId}, true)`.execute(trx);
    await sql.raw(`set local role ${TENANT_ROLE}`).execute(trx);
    return fn(trx);
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
