/**
 * Usage query time at 1 M and 10 M ledger events, on a real PostgreSQL.
 *
 *   npm run bench:usage -- [--runs 50] [--small 1000000] [--large 10000000] [--keep]
 *
 * Creates a throwaway database on the server of `KEYHOLD_BENCH_DATABASE_URL` (default
 * postgres://postgres@127.0.0.1:5432/test), migrates it, generates events server-side with
 * `generate_series`, builds `usage_daily` with the same aggregation as the ledger writer,
 * VACUUM ANALYZE, then times a tenant's month — the way the admin API runs it (`withTenant`, row-
 * level security on) — and the same grouping computed directly from `usage_events` as the
 * baseline, in the same run. Then grows the ledger to the large size and measures again. The
 * database is dropped at the end (unless `--keep`).
 *
 * The data: 1,000 tenants over 90 days (2026-01-01 … 2026-03-31, in time order as a ledger
 * fills), one heavy tenant with 10 % of all events and 200 users, the others 10 users each;
 * 20 models over 4 providers (two embedding models), each user working with ~3 of them; one
 * virtual key per user, a tenant credential per provider, 5 % of calls with a header key, 3 %
 * errors, 4 % estimated. The month measured is March 2026.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { meteringBreakdown } from '../packages/gateway/src/admin/usage-routes.js';
import { createDatabase } from '../packages/gateway/src/store/database.js';
import type { Schema } from '../packages/gateway/src/store/schema.js';
import { withTenant } from '../packages/gateway/src/store/tenant-scope.js';
import { USAGE_DAILY_ROLLUP_SQL } from '../packages/gateway/src/store/testing/usage-rollup.js';
import { queryUsage } from '../packages/gateway/src/store/usage-queries.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    small: { type: 'string', default: '1000000' },
    large: { type: 'string', default: '10000000' },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const SIZES = [Number(values.small), Number(values.large)].filter(
  (n, i, all) => n > 0 && (i === 0 || n > all[i - 1]!),
);
const SERVER = process.env.KEYHOLD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const TENANTS = 1000;
const MONTH = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };
/** The heavy tenant (10 % of all events) and a typical one. */
const HEAVY = benchUuid(1, 0);
const TYPICAL = benchUuid(1, 500);

function benchUuid(kind: number, n: number): string {
  return `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const MODELS = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['openai', 'gpt-4.1'],
  ['openai', 'o3-mini'],
  ['openai', 'text-embedding-3-small'],
  ['anthropic', 'claude-sonnet-4-5'],
  ['anthropic', 'claude-haiku-4-5'],
  ['anthropic', 'claude-opus-4-1'],
  ['anthropic', 'claude-3-5-haiku'],
  ['anthropic', 'claude-3-7-sonnet'],
  ['google', 'gemini-2.5-pro'],
  ['google', 'gemini-2.5-flash'],
  ['google', 'gemini-2.0-flash'],
  ['google', 'text-embedding-004'],
  ['google', 'gemini-2.5-flash-lite'],
  ['mistral', 'mistral-large-latest'],
  ['mistral', 'mistral-small-latest'],
  ['mistral', 'codestral-latest'],
  ['mistral', 'ministral-8b-latest'],
  ['mistral', 'open-mistral-nemo'],
] as const;

/** `count` events numbered from `first`, spread in time order over the 90 days. */
function generateSql(first: number, count: number): string {
  const providers = `array[${MODELS.map(([p]) => `'${p}'`).join(',')}]`;
  const models = `array[${MODELS.map(([, m]) => `'${m}'`).join(',')}]`;
  return `
    insert into usage_events (
      request_id, attempt, tenant_id, user_id, virtual_key_id, credential_id, key_source, provider,
      model, operation, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens,
      reasoning_tokens, cost_micros, priced, estimated, latency_ms, status, error_class,
      upstream_status, occurred_at
    )
    select
      'bench-' || i, 0, bench_uuid(1, t), bench_uuid(2, t * 1000 + u), bench_uuid(3, t * 1000 + u),
      case when header then null else bench_uuid(4, t * 10 + m / 5) end,
      case when header then 'header' else 'tenant' end,
      (${providers})[m + 1], (${models})[m + 1],
      case when m in (4, 13) then 'embedding' else 'chat' end,
      input, case when m in (4, 13) then 0 else output end, input / 4, 0, output / 10,
      (input * 3 + output * 12) / 4, true, r2 < 0.04, 200 + (r2 * 3000)::int,
      case when failed then 'error' else 'ok' end,
      case when failed then 'upstream_error' end, case when failed then 500 end,
      timestamptz '2026-01-01 00:00:00+00' + ((i - 1)::float8 / ${count}) * interval '90 days'
        + (r2 * interval '1 second')
    from (
      select i, t, u, ((u * 7 + t * 3 + (r1 * 3)::int) % 20) as m, r1, r2, input, output,
        r1 < 0.05 as header, r2 > 0.97 as failed
      from (
        select i, t, floor(random() * case when t = 0 then 200 else 10 end)::int as u,
          random() as r1, random() as r2, floor(random() * 4000)::bigint as input,
          floor(random() * 1000)::bigint as output
        from (
          select i, case when random() < 0.1 then 0 else 1 + floor(random() * ${TENANTS - 1})::int end as t
          from generate_series(${first}::bigint, ${first + count - 1}::bigint) as i
        ) a
      ) b
    ) c`;
}

async function main(): Promise<void> {
  const name = `keyhold_bench_usage_${randomBytes(4).toString('hex')}`;
  await onServer(`create database ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), maxConnections: 2 });
  const db = database.db;
  const results: string[] = [];
  try {
    await sql`create function bench_uuid(kind int, n bigint) returns uuid language sql immutable as
      $$ select (lpad(to_hex(kind), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$`.execute(
      db,
    );
    let loaded = 0;
    for (const size of SIZES) {
      const started = performance.now();
      await load(db, loaded, size - loaded);
      loaded = size;
      const counts = await sql<{ events: string; daily: string; heavy: string; heavy_daily: string }>`
        select (select count(*) from usage_events)::text as events,
               (select count(*) from usage_daily)::text as daily,
               (select count(*) from usage_events where tenant_id = ${HEAVY}
                  and occurred_at >= ${MONTH.from.toISOString()}::timestamptz
                  and occurred_at < ${MONTH.to.toISOString()}::timestamptz)::text as heavy,
               (select count(*) from usage_daily where tenant_id = ${HEAVY}
                  and day >= '2026-03-01' and day < '2026-04-01')::text as heavy_daily`.execute(db);
      const c = counts.rows[0] as unknown as {
        events: string;
        daily: string;
        heavy: string;
        heavyDaily: string;
      };
      console.log(
        `\n== ${fmt(Number(c.events))} events, ${fmt(Number(c.daily))} rollup rows (built in ${seconds(started)}) ==`,
      );
      console.log(
        `heavy tenant's March: ${fmt(Number(c.heavy))} events, ${fmt(Number(c.heavyDaily))} rollup rows`,
      );
      results.push(...(await measure(db, Number(c.events))));
    }
    console.log('\nmarkdown rows:');
    for (const row of results) console.log(row);
  } finally {
    await database.close();
    if (!values.keep) await onServer(`drop database if exists ${name} with (force)`);
    else console.log(`kept database ${name}`);
  }
}

/** Adds `count` events, rebuilds the rollup with the ledger writer's aggregation, analyzes. */
async function load(db: Kysely<Schema>, already: number, count: number): Promise<void> {
  let t = performance.now();
  // Bulk load: indexes are dropped during the insert and rebuilt after, to the same definitions.
  await db.transaction().execute(async (trx) => {
    await sql`set local synchronous_commit = off`.execute(trx);
    await sql`set local maintenance_work_mem = '512MB'`.execute(trx);
    await sql`alter table usage_events drop constraint usage_events_pkey`.execute(trx);
    await sql`drop index usage_events_tenant_time`.execute(trx);
    await sql.raw(generateSql(already + 1, count)).execute(trx);
    console.log(`  inserted ${fmt(count)} events in ${seconds(t)}`);
    t = performance.now();
    await sql`alter table usage_events add primary key (request_id, attempt)`.execute(trx);
    await sql`create index usage_events_tenant_time on usage_events (tenant_id, occurred_at)`.execute(trx);
    console.log(`  indexed in ${seconds(t)}`);
    t = performance.now();
    await sql`set local work_mem = '256MB'`.execute(trx);
    await sql`delete from usage_daily`.execute(trx);
    await sql.raw(USAGE_DAILY_ROLLUP_SQL).execute(trx);
    console.log(`  rolled up in ${seconds(t)}`);
  });
  t = performance.now();
  await sql`vacuum analyze usage_events`.execute(db);
  await sql`vacuum analyze usage_daily`.execute(db);
  console.log(`  vacuum analyze in ${seconds(t)}`);
}

interface Timing {
  p50: number;
  p95: number;
  runs: number;
}

async function time(runs: number, fn: () => Promise<unknown>): Promise<Timing> {
  let warm = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await fn();
    warm = performance.now() - started;
  }
  // Seconds-long baselines: 10 runs say enough, and keep the whole bench within minutes.
  const count = warm > 300 ? Math.min(runs, 10) : runs;
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), runs: count };
}

/** The same grouping straight from the events: what a ledger without a rollup would run. */
function directFromEvents(trx: Kysely<Schema>, tenantId: string, groupBy: string) {
  const day = `to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD')`;
  const keys = groupBy === 'model,day' ? `model, ${day}` : `${day}, provider, model`;
  return sql
    .raw<Record<string, unknown>>(`
      select ${keys}, count(*) as requests, count(*) filter (where status = 'error') as errors,
        count(*) filter (where estimated) as estimated_requests, sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens, sum(cached_input_tokens) as cached_input_tokens,
        sum(cache_write_input_tokens) as cache_write_input_tokens, sum(reasoning_tokens) as reasoning_tokens,
        sum(cost_micros)::text as cost_micros, sum(latency_ms) as latency_ms_total, max(occurred_at) as last_at
      from usage_events
      where tenant_id = '${tenantId}' and occurred_at >= '${MONTH.from.toISOString()}'
        and occurred_at < '${MONTH.to.toISOString()}'
      group by ${groupBy === 'model,day' ? '1, 2' : '1, 2, 3'} order by 1, 2`)
    .execute(trx);
}

async function measure(db: Kysely<Schema>, events: number): Promise<string[]> {
  const rows: string[] = [];
  const report = (label: string, rollup: Timing, direct?: Timing) => {
    const ratio = direct ? `${(direct.p50 / rollup.p50).toFixed(1)}×` : '';
    console.log(
      `${label.padEnd(48)} p50 ${ms(rollup.p50).padStart(9)}  p95 ${ms(rollup.p95).padStart(9)}` +
        ` (${rollup.runs} runs)` +
        (direct
          ? `   | events directly: p50 ${ms(direct.p50)}  p95 ${ms(direct.p95)} (${direct.runs} runs)  → ${ratio}`
          : ''),
    );
    rows.push(
      `| ${fmt(events)} | ${label} | ${ms(rollup.p50)} | ${ms(rollup.p95)} | ${direct ? ms(direct.p50) : '—'} | ${direct ? ms(direct.p95) : '—'} | ${ratio || '—'} |`,
    );
  };

  for (const [who, tenantId] of [
    ['heavy tenant', HEAVY],
    ['typical tenant', TYPICAL],
  ] as const) {
    const modelDay = () =>
      withTenant(db, tenantId, (trx) => queryUsage(trx, { tenantId, ...MONTH, groupBy: ['model', 'day'] }));
    const metering = () =>
      withTenant(db, tenantId, async (trx) =>
        meteringBreakdown(
          await queryUsage(trx, { tenantId, ...MONTH, groupBy: ['day', 'provider', 'model'] }),
          MONTH.from,
          MONTH.to,
        ),
      );
    // The answers must agree before their speed means anything.
    const viaRollup = await modelDay();
    const direct = await withTenant(db, tenantId, (trx) => directFromEvents(trx, tenantId, 'model,day'));
    const directCost = direct.rows.reduce((sum, r) => sum + BigInt(r.costMicros as string), 0n);
    if (
      viaRollup.groups.length !== direct.rows.length ||
      BigInt(viaRollup.totals.costMicros) !== directCost
    ) {
      throw new Error(
        `${who}: rollup and events disagree (${viaRollup.groups.length} vs ${direct.rows.length} groups)`,
      );
    }
    report(
      `${who}, March, group_by=model,day (${viaRollup.groups.length} groups)`,
      await time(RUNS, modelDay),
      await time(RUNS, () => withTenant(db, tenantId, (trx) => directFromEvents(trx, tenantId, 'model,day'))),
    );
    report(
      `${who}, March, metering report`,
      await time(RUNS, metering),
      await time(RUNS, () =>
        withTenant(db, tenantId, (trx) => directFromEvents(trx, tenantId, 'day,provider,model')),
      ),
    );
  }
  const edges = {
    from: new Date('2026-03-01T12:00:00Z'),
    to: new Date('2026-03-31T12:00:00Z'),
  };
  report(
    'heavy tenant, Mar 1 12:00 → Mar 31 12:00 (partial edge days), model,day',
    await time(RUNS, () =>
      withTenant(db, HEAVY, (trx) =>
        queryUsage(trx, { tenantId: HEAVY, ...edges, groupBy: ['model', 'day'] }),
      ),
    ),
  );
  report(
    'operator, every tenant, March, group_by=tenant',
    await time(Math.min(RUNS, 10), () => queryUsage(db, { ...MONTH, groupBy: ['tenant'] })),
  );
  return rows;
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

await main();
