import { type Kysely, sql } from 'kysely';
import type { Schema } from '../schema.js';

/**
 * The daily rollup recomputed from scratch out of `usage_events`: the same sums, per UTC day and
 * dimension set, that the ledger writer keeps up to date incrementally. Tests and the usage
 * benchmark use it to build `usage_daily` for events they inserted directly.
 */
export const USAGE_DAILY_ROLLUP_SQL = `
  insert into usage_daily (
    tenant_id, day, provider, model, operation, user_id, virtual_key_id, credential_id, key_source,
    requests, errors, estimated_requests, input_tokens, output_tokens, cached_input_tokens,
    cache_write_input_tokens, reasoning_tokens, cost_micros, latency_ms_total, last_at
  )
  select
    tenant_id, (occurred_at at time zone 'UTC')::date, provider, model, operation, user_id,
    virtual_key_id, credential_id, key_source,
    count(*), count(*) filter (where status = 'error'), count(*) filter (where estimated),
    sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cache_write_input_tokens),
    sum(reasoning_tokens), sum(cost_micros), sum(latency_ms), max(occurred_at)
  from usage_events
  group by 1, 2, 3, 4, 5, 6, 7, 8, 9`;

/** Replaces `usage_daily` with the rollup of every event (system scope). */
export async function rebuildUsageDaily(db: Kysely<Schema>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`delete from usage_daily`.execute(trx);
    await sql.raw(USAGE_DAILY_ROLLUP_SQL).execute(trx);
  });
}
