import { type Kysely, sql } from 'kysely';
import { TENANT_ROLE } from './0002-row-level-security.js';

/**
 * The usage ledger (see metering/): one row per upstream attempt, and a daily rollup kept in the
 * same transaction as the rows it sums, so that a tenant's month is read from ~30 × (models ×
 * users × keys) rollup rows instead of millions of events.
 *
 * - `usage_events` is keyed by `(request_id, attempt)`: a writer that replays a batch (after a
 *   crash, a retry) inserts with `on conflict do nothing` and adds to the rollup only what it
 *   actually inserted, which keeps both tables exact.
 * - No foreign keys to tenants, users, keys or credentials: the ledger is the billing record
 *   and outlives a deleted key or tenant.
 * - Tenants read their own rows only (row-level security, select only); the gateway's own role
 *   writes.
 * - Days are UTC.
 */
const STATEMENTS = [
  `create table usage_events (
    request_id text not null check (length(request_id) between 1 and 200),
    attempt smallint not null check (attempt >= 0),
    tenant_id uuid not null,
    user_id uuid,
    virtual_key_id uuid,
    credential_id uuid,
    key_source text not null,
    provider text not null,
    model text not null,
    operation text not null,
    input_tokens bigint not null check (input_tokens >= 0),
    output_tokens bigint not null check (output_tokens >= 0),
    cached_input_tokens bigint not null default 0,
    cache_write_input_tokens bigint not null default 0,
    reasoning_tokens bigint not null default 0,
    cost_micros bigint not null check (cost_micros >= 0),
    priced boolean not null,
    estimated boolean not null,
    latency_ms integer not null,
    status text not null check (status in ('ok', 'error')),
    error_class text,
    upstream_status smallint,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null default now(),
    primary key (request_id, attempt)
  )`,
  'create index usage_events_tenant_time on usage_events (tenant_id, occurred_at)',
  `create table usage_daily (
    tenant_id uuid not null,
    day date not null,
    provider text not null,
    model text not null,
    operation text not null,
    user_id uuid,
    virtual_key_id uuid,
    credential_id uuid,
    key_source text not null,
    requests bigint not null default 0,
    errors bigint not null default 0,
    estimated_requests bigint not null default 0,
    input_tokens bigint not null default 0,
    output_tokens bigint not null default 0,
    cached_input_tokens bigint not null default 0,
    cache_write_input_tokens bigint not null default 0,
    reasoning_tokens bigint not null default 0,
    cost_micros bigint not null default 0,
    latency_ms_total bigint not null default 0,
    last_at timestamptz not null,
    unique nulls not distinct
      (tenant_id, day, provider, model, operation, user_id, virtual_key_id, credential_id, key_source)
  )`,
  'create index usage_daily_tenant_day on usage_daily (tenant_id, day)',
  'create index usage_daily_credential on usage_daily (credential_id, day) where credential_id is not null',
];

const TENANT_TABLES = ['usage_events', 'usage_daily'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
  for (const table of TENANT_TABLES) {
    const scoped = `tenant_id = nullif(current_setting('keyhold.tenant_id', true), '')::uuid`;
    await sql.raw(`grant select on ${table} to ${TENANT_ROLE}`).execute(db);
    await sql.raw(`alter table ${table} enable row level security`).execute(db);
    await sql.raw(`alter table ${table} force row level security`).execute(db);
    await sql
      .raw(`create policy tenant_isolation on ${table} to ${TENANT_ROLE} using (${scoped})`)
      .execute(db);
    await sql
      .raw(`create policy system_access on ${table} to current_user using (true) with check (true)`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['usage_daily', 'usage_events']) {
    await sql.raw(`drop table if exists ${table}`).execute(db);
  }
}
