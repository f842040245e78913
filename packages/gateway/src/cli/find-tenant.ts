import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.js';
import { CliError } from './cli-io.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant named on the command line by id or by its (unique) name, e.g. `demo`. */
export async function findTenantId(db: Kysely<Schema>, ref: string): Promise<string> {
  if (UUID.test(ref)) {
    const row = await db.selectFrom('tenants').select('id').where('id', '=', ref).executeTakeFirst();
    if (row) return row.id;
  }
  const rows = await db.selectFrom('tenants').select('id').where('name', '=', ref).limit(2).execute();
  if (rows.length === 1) return rows[0]!.id;
  throw new CliError(
    rows.length === 0 ? `No tenant "${ref}"` : `Several tenants are named "${ref}": give the tenant id`,
  );
}

/** A user of the tenant by id or e-mail address. */
export async function findUserId(db: Kysely<Schema>, tenantId: string, ref: string): Promise<string> {
  let query = db.selectFrom('users').select('id').where('tenantId', '=', tenantId);
  query = UUID.test(ref) ? query.where('id', '=', ref) : query.where('email', '=', ref);
  const row = await query.executeTakeFirst();
  if (!row) throw new CliError(`No user "${ref}" in this tenant`);
  return row.id;
}
