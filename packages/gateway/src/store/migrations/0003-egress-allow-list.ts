import { type Kysely, sql } from 'kysely';

/**
 * The operator's egress allow-list (see egress/allow-list.ts): hosts, IP addresses and CIDR
 * ranges that tenant-supplied endpoints may reach although the SSRF policy would refuse them.
 * Deployment-wide, operator-only: no tenant column, and the tenant role gets no grant on it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`create table egress_allow_list (
    entry text primary key check (length(entry) between 1 and 300),
    created_at timestamptz not null default now()
  )`)
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('drop table if exists egress_allow_list').execute(db);
}
