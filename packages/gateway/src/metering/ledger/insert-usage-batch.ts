import { type Kysely, sql } from 'kysely';
import type { Schema } from '../../store/schema.js';
import type { UsageRow } from './to-usage-row.js';

/**
 * Stores a batch of usage rows in ONE statement (so one implicit transaction): the events go into
 * `usage_events` with `on conflict (request_id, attempt) do nothing`, and only the rows that
 * statement actually inserted (`returning`) are added to the `usage_daily` rollup. Replaying a
 * batch — after a crash, or a flush whose commit was not acknowledged — therefore changes
 * neither table: the rollup stays exactly the sum of the events.
 *
 * The batch travels as one JSON parameter (`json_to_recordset`): one bind value instead of 23
 * per row, the same text on PGlite and PostgreSQL. Rollup rows are upserted in key order so that
 * two instances adding to the same rows take their locks in the same order (no deadlock).
 *
 * Returns how many events were new (the rest were already stored).
 */
export async function insertUsageBatch(db: Kysely<Schema>, rows: readonly UsageRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return insertUsageJson(db, JSON.stringify(rows));
}

/**
 * {@link insertUsageBatch} for rows that are already JSON: `json` is a JSON array of
 * {@link UsageRow}s (the ledger keeps each row as the JSON line it journaled, so a batch is
 * those lines joined, not serialised again).
 */
export async function insertUsageJson(db: Kysely<Schema>, json: string): Promise<number> {
  const result = await sql<{ inserted: string | number }>`
    with input as (
      select * from json_to_recordset(${json}::json) as x(
        request_id text, attempt smallint, tenant_id uuid, user_id uuid, virtual_key_id uuid,
        credential_id uuid, key_source text, provider text, model text, operation text,
        input_tokens bigint, output_tokens bigint, cached_input_tokens bigint,
        cache_write_input_tokens bigint, reasoning_tokens bigint, cost_micros bigint,
        priced boolean, estimated boolean, latency_ms integer, status text, error_class text,
        upstream_status smallint, occurred_at timestamptz
      )
    ),
    inserted as (
      insert into usage_events (
        request_id, attempt, tenant_id, user_id, virtual_key_id, credential_id, key_source,
        provider, model, operation, input_tokens, output_tokens, cached_input_tokens,
        cache_write_input_tokens, reasoning_tokens, cost_micros, priced, estimated, latency_ms,
        status, error_class, upstream_status, occurred_at
      )
      select
        request_id, attempt, tenant_id, user_id, virtual_key_id, credential_id, key_source,
        provider, model, operation, input_tokens, output_tokens, cached_input_tokens,
        cache_write_input_tokens, reasoning_tokens, cost_micros, priced, estimated, latency_ms,
        status, error_class, upstream_status, occurred_at
      from input
      on conflict (request_id, attempt) do nothing
      returning *
    ),
    rolled as (
      insert into usage_daily as d (
        tenant_id, day, provider, model, operation, user_id, virtual_key_id, credential_id,
        key_source, requests, errors, estimated_requests, input_tokens, output_tokens,
        cached_input_tokens, cache_write_input_tokens, reasoning_tokens, cost_micros,
        latency_ms_total, last_at
      )
      select
        tenant_id, (occurred_at at time zone 'UTC')::date, provider, model, operation, user_id,
        virtual_key_id, credential_id, key_source,
        count(*), count(*) filter (where status = 'error'), count(*) filter (where estimated),
        sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
        sum(cache_write_input_tokens), sum(reasoning_tokens), sum(cost_micros), sum(latency_ms),
        max(occurred_at)
      from inserted
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9
      order by 1, 2, 3, 4, 5, 6, 7, 8, 9
      on conflict (tenant_id, day, provider, model, operation, user_id, virtual_key_id, credential_id, key_source)
      do update set
        requests = d.requests + excluded.requests,
        errors = d.errors + excluded.errors,
        estimated_requests = d.estimated_requests + excluded.estimated_requests,
        input_tokens = d.input_tokens + excluded.input_tokens,
        output_tokens = d.output_tokens + excluded.output_tokens,
        cached_input_tokens = d.cached_input_tokens + excluded.cached_input_tokens,
        cache_write_input_tokens = d.cache_write_input_tokens + excluded.cache_write_input_tokens,
        reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
        cost_micros = d.cost_micros + excluded.cost_micros,
        latency_ms_total = d.latency_ms_total + excluded.latency_ms_total,
        last_at = greatest(d.last_at, excluded.last_at)
      returning 1
    )
    select count(*) as inserted from inserted
  `.execute(db);
  return Number(result.rows[0]?.inserted ?? 0);
}
