import { type Kysely, sql } from 'kysely';

/** The role tenant-scoped work runs as (see `store/tenant-scope.ts`). */
export const TENANT_ROLE = 'keyhold_tenant';

/** Tenant-scoped tables and the column that names their tenant. */
const TENANT_TABLES: ReadonlyArray<[table: string, column: string, privileges: string]> = [
  ['tenants', 'id', 'select, update'],
  ['users', 'tenant_id', 'select, insert, update, delete'],
  ['groups', 'tenant_id', 'select, insert, update, delete'],
  ['group_memberships', 'tenant_id', 'select, insert, update, delete'],
  ['virtual_keys', 'tenant_id', 'select, insert, update, delete'],
  ['credentials', 'tenant_id', 'select, insert, update, delete'],
  // Append-only, for the tenant role as for everyone.
  ['audit_events', 'tenant_id', 'select, insert'],
];

/**
 * Row-level security. Two policies per tenant table:
 * - `tenant_isolation`, for `keyhold_tenant`: only rows whose tenant is the one named by the
 *   transaction-local setting `keyhold.tenant_id` — reads and writes alike. Without the setting,
 *   nothing.
 * - `system_access`, for the role that ran the migrations (the gateway's own login): every row.
 *   Lookups that come before a tenant is known (a virtual key by its hash) and operator work
 *   need it. `FORCE ROW LEVEL SECURITY` makes the policies apply to that owner role too, so a
 *   non-superuser owner is scoped the moment it switches to `keyhold_tenant`. Superusers bypass
 *   RLS entirely, which is why tenant work switches role rather than relying on the login.
 *
 * The role is cluster-wide and may already exist (another database of the same cluster); the
 * creation tolerates a concurrent creator.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`do $$
    begin
      if not exists (select from pg_roles where rolname = '${TENANT_ROLE}') then
        begin
          create role ${TENANT_ROLE} nologin nosuperuser noinherit nobypassrls;
        exception when duplicate_object or unique_violation then null;
        end;
      end if;
      if not pg_has_role(current_user, '${TENANT_ROLE}', 'member') then
        execute format('grant ${TENANT_ROLE} to %I', current_user);
      end if;
    end
  $$`)
    .execute(db);
  await sql.raw(`grant usage on schema public to ${TENANT_ROLE}`).execute(db);
  for (const [table, column, privileges] of TENANT_TABLES) {
    // A setting once set in a session reads '' after its transaction, not null: nullif keeps
    // that case "no tenant" (nothing visible) instead of a cast error.
    const scoped = `${column} = nullif(current_setting('keyhold.tenant_id', true), '')::uuid`;
    await sql.raw(`grant ${privileges} on ${table} to ${TENANT_ROLE}`).execute(db);
    await sql.raw(`alter table ${table} enable row level security`).execute(db);
    await sql.raw(`alter table ${table} force row level security`).execute(db);
    await sql
      .raw(
        `create policy tenant_isolation on ${table} to ${TENANT_ROLE} using (${scoped}) with check (${scoped})`,
      )
      .execute(db);
    await sql
      .raw(`create policy system_access on ${table} to current_user using (true) with check (true)`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, , privileges] of TENANT_TABLES) {
    await sql.raw(`drop policy if exists tenant_isolation on ${table}`).execute(db);
    await sql.raw(`drop policy if exists system_access on ${table}`).execute(db);
    await sql.raw(`alter table ${table} no force row level security`).execute(db);
    await sql.raw(`alter table ${table} disable row level security`).execute(db);
    await sql.raw(`revoke ${privileges} on ${table} from ${TENANT_ROLE}`).execute(db);
  }
  await sql.raw(`revoke usage on schema public from ${TENANT_ROLE}`).execute(db);
}
