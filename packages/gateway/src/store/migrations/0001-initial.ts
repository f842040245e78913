import { type Kysely, sql } from 'kysely';

/**
 * The first schema. Every tenant-scoped table carries `tenant_id`, and child tables reference
 * their parent by `(id, tenant_id)` so that no row can point into another tenant.
 */
const STATEMENTS = [
  `create table tenants (
    id uuid primary key default gen_random_uuid(),
    name text not null check (length(name) between 1 and 200),
    status text not null default 'active' check (status in ('active', 'suspended')),
    settings jsonb not null default '{}'::jsonb check (jsonb_typeof(settings) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  `create table users (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants (id) on delete cascade,
    email text not null,
    name text not null,
    role text not null check (role in ('tenant_admin', 'member')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, email),
    unique (id, tenant_id)
  )`,
  `create table groups (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants (id) on delete cascade,
    name text not null,
    created_at timestamptz not null default now(),
    unique (tenant_id, name),
    unique (id, tenant_id)
  )`,
  `create table group_memberships (
    group_id uuid not null,
    user_id uuid not null,
    tenant_id uuid not null,
    may_use_credentials boolean not null default false,
    created_at timestamptz not null default now(),
    primary key (group_id, user_id),
    foreign key (group_id, tenant_id) references groups (id, tenant_id) on delete cascade,
    foreign key (user_id, tenant_id) references users (id, tenant_id) on delete cascade
  )`,
  'create index group_memberships_user on group_memberships (user_id)',
  `create table virtual_keys (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants (id) on delete cascade,
    user_id uuid,
    key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
    prefix text not null,
    hint text not null,
    name text not null,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    foreign key (user_id, tenant_id) references users (id, tenant_id) on delete cascade
  )`,
  'create index virtual_keys_tenant on virtual_keys (tenant_id)',
  `create table credentials (
    id uuid primary key,
    tenant_id uuid references tenants (id) on delete cascade,
    owner_kind text not null check (owner_kind in ('operator', 'tenant', 'group', 'user')),
    owner_id uuid not null,
    provider text not null,
    purpose text not null default 'any' check (purpose in ('any', 'chat', 'embedding')),
    ciphertext bytea not null,
    key_version integer not null,
    hint text not null,
    fields jsonb not null default '{}'::jsonb check (jsonb_typeof(fields) = 'object'),
    status text not null default 'active' check (status in ('active', 'invalid', 'revoked')),
    configured_at timestamptz not null default now(),
    validated_at timestamptz,
    last_used_at timestamptz,
    updated_at timestamptz not null default now(),
    unique (owner_kind, owner_id, provider, purpose),
    check ((owner_kind = 'operator') = (tenant_id is null)),
    check (owner_kind <> 'tenant' or owner_id = tenant_id)
  )`,
  'create index credentials_tenant_provider on credentials (tenant_id, provider)',
  'create index credentials_key_version on credentials (key_version)',
  `create table audit_events (
    seq bigint generated always as identity primary key,
    id uuid not null unique default gen_random_uuid(),
    tenant_id uuid,
    position bigint not null check (position > 0),
    actor text not null,
    action text not null,
    target_id text,
    details jsonb not null default '{}'::jsonb,
    created_at timestamptz not null,
    prev_hash text,
    hash text not null
  )`,
  // One chain per tenant plus the operator chain (tenant_id null): positions are unique within it.
  `create unique index audit_events_chain on audit_events
    (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), position)`,
  // Append-only: the database itself refuses to change or remove an event.
  `create function keyhold_audit_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit events are append-only';
    end
  $$`,
  `create trigger audit_events_no_update_delete before update or delete on audit_events
    for each row execute function keyhold_audit_append_only()`,
  `create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function keyhold_audit_append_only()`,
  `create table vault_keys (
    version integer primary key check (version > 0),
    check_value bytea not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'vault_keys',
    'audit_events',
    'credentials',
    'virtual_keys',
    'group_memberships',
    'groups',
    'users',
    'tenants',
  ]) {
    await sql.raw(`drop table if exists ${table}`).execute(db);
  }
  await sql.raw('drop function if exists keyhold_audit_append_only()').execute(db);
}
