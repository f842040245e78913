import { type Kysely, sql } from 'kysely';
import { TENANT_ROLE } from './0002-row-level-security.js';

/**
 * A tenant's budget-alert webhook: where alerts go and the HMAC signing secret, sealed by the
 * vault (associated data: the tenant and the label `alert-webhook`, so neither a credential's
 * ciphertext nor another tenant's fits here). One per tenant; gone with its tenant.
 *
 * `key_version` duplicates the blob's header for rotation and `keys retire` (like
 * `credentials.key_version`); `hint` is the secret's last characters as `hintOf` renders them.
 * Row-level security as on the other tenant tables: the tenant role reads and writes its own row
 * only, the gateway's own role every row.
 */
const STATEMENTS = [
  `create table alert_webhooks (
    tenant_id uuid primary key references tenants (id) on delete cascade,
    url text not null check (length(url) between 1 and 2048),
    ciphertext bytea not null,
    key_version integer not null,
    hint text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  'create index alert_webhooks_key_version on alert_webhooks (key_version)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
  const scoped = `tenant_id = nullif(current_setting('keyhold.tenant_id', true), '')::uuid`;
  await sql.raw(`grant select, insert, update, delete on alert_webhooks to ${TENANT_ROLE}`).execute(db);
  await sql.raw('alter table alert_webhooks enable row level security').execute(db);
  await sql.raw('alter table alert_webhooks force row level security').execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on alert_webhooks to ${TENANT_ROLE} using (${scoped}) with check (${scoped})`,
    )
    .execute(db);
  await sql
    .raw('create policy system_access on alert_webhooks to current_user using (true) with check (true)')
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('drop table if exists alert_webhooks').execute(db);
}
