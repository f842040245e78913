import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Schema } from './schema.js';

/**
 * Usage totals per tenant and time range, grouped by any of the ledger's dimensions.
 *
 * Whole UTC days are read from the `usage_daily` rollup (a tenant's month is a few thousand
 * rollup rows, whatever the number of events), and only the partial days at either edge of a
 * range that does not start or end at midnight UTC are summed from `usage_events` (through its
 * `(tenant_id, occurred_at)` index). The rollup is maintained in the same transaction as the
 * events it sums, so the two parts add up to exactly what a direct sum over `usage_events` gives.
 *
 * Ranges are half-open: `from` included, `to` excluded.
 */

/** What usage can be grouped by. `day` and `month` are UTC. */
export const USAGE_DIMENSIONS = [
  'day',
  'month',
  'tenant',
  'provider',
  'model',
  'operation',
  'user',
  'virtual_key',
  'credential',
  'key_source',
] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export const isUsageDimension = (name: string): name is UsageDimension =>
  (USAGE_DIMENSIONS as readonly string[]).includes(name);

/** Narrows a query to some rows; absent fields do not filter. */
export interface UsageFilter {
  /** Absent: every tenant (system scope only; under `withTenant` row-level security still applies). */
  tenantId?: string;
  userId?: string;
  virtualKeyId?: string;
  credentialId?: string;
  provider?: string;
  model?: string;
  operation?: string;
  keySource?: string;
}

export interface UsageQuery extends UsageFilter {
  from: Date;
  /** Excluded. */
  to: Date;
  /** Dimensions to group by, in order (also the sort order). Empty: one group with the totals. */
  groupBy: readonly UsageDimension[];
  /** Most groups returned; more makes the result `truncated`. Default 50 000. */
  maxGroups?: number;
}

/** Sums over a set of usage events. Counts are exact integers (safe up to 2^53). */
export interface UsageTotals {
  requests: number;
  errors: number;
  /** Requests whose tokens Keyhold counted itself (no usage from the provider). */
  estimatedRequests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
  /** Integer micro-dollars (1 US$ = 1 000 000). */
  costMicros: number;
  latencyMsTotal: number;
  /** When the newest of these events occurred; null without events. */
  lastAt: Date | null;
}

/** One group: the value of each grouped dimension (ids and names as text, null when absent). */
export interface UsageGroup {
  key: Partial<Record<UsageDimension, string | null>>;
  totals: UsageTotals;
}

export interface UsageResult {
  groups: UsageGroup[];
  /** Sum of every group. */
  totals: UsageTotals;
  /** More than `maxGroups` groups matched: `groups` and `totals` are incomplete. */
  truncated: boolean;
}

const SUMMED = [
  'requests',
  'errors',
  'estimated_requests',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cache_write_input_tokens',
  'reasoning_tokens',
  'cost_micros',
  'latency_ms_total',
] as const;

/**
 * A dimension over each table (`daily`, `events`: the same type on both sides of the union, so
 * rows group by the raw value) and how the grouped value is reported (`output`, over the alias).
 */
const DIMENSION_SQL: Record<
  UsageDimension,
  { daily: string; events: string; output: (k: string) => string }
> = {
  day: {
    daily: 'day',
    events: `(occurred_at at time zone 'UTC')::date`,
    output: (k) => `to_char(${k}, 'YYYY-MM-DD')`,
  },
  month: {
    daily: `date_trunc('month', day)::date`,
    events: `date_trunc('month', occurred_at at time zone 'UTC')::date`,
    output: (k) => `to_char(${k}, 'YYYY-MM')`,
  },
  tenant: { daily: 'tenant_id', events: 'tenant_id', output: (k) => `${k}::text` },
  provider: { daily: 'provider', events: 'provider', output: (k) => k },
  model: { daily: 'model', events: 'model', output: (k) => k },
  operation: { daily: 'operation', events: 'operation', output: (k) => k },
  user: { daily: 'user_id', events: 'user_id', output: (k) => `${k}::text` },
  virtual_key: { daily: 'virtual_key_id', events: 'virtual_key_id', output: (k) => `${k}::text` },
  credential: { daily: 'credential_id', events: 'credential_id', output: (k) => `${k}::text` },
  key_source: { daily: 'key_source', events: 'key_source', output: (k) => k },
};

const FILTER_COLUMNS: Record<Exclude<keyof UsageFilter, never>, string> = {
  tenantId: 'tenant_id',
  userId: 'user_id',
  virtualKeyId: 'virtual_key_id',
  credentialId: 'credential_id',
  provider: 'provider',
  model: 'model',
  operation: 'operation',
  keySource: 'key_source',
};

const DAY_MS = 86_400_000;

/** The part of `[from, to)` made of whole UTC days, and the partial edges around it. */
export interface SplitRange {
  /** First whole day (`YYYY-MM-DD`) and the day after the last one; absent when none. */
  days?: { from: string; to: string };
  /** Sub-day ranges `[from, to)` to read from the events. */
  edges: Array<{ from: Date; to: Date }>;
}

/** Splits a range into whole UTC days (rollup) and partial edge days (events). */
export function splitRange(from: Date, to: Date): SplitRange {
  const start = from.getTime();
  const end = to.getTime();
  if (!(start < end)) return { edges: [] };
  const firstWhole = Math.ceil(start / DAY_MS) * DAY_MS;
  const endWhole = Math.floor(end / DAY_MS) * DAY_MS;
  if (firstWhole >= endWhole) return { edges: [{ from, to }] };
  const edges: Array<{ from: Date; to: Date }> = [];
  if (start < firstWhole) edges.push({ from, to: new Date(firstWhole) });
  if (endWhole < end) edges.push({ from: new Date(endWhole), to });
  return { days: { from: dayOf(firstWhole), to: dayOf(endWhole) }, edges };
}

/** `YYYY-MM-DD` of a UTC instant. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Usage per group over a time range.
 *
 * Run it under `withTenant(db, tenantId, …)` for a tenant's own view (row-level security then
 * hides every other tenant whatever the filter says); the operator runs it in system scope, with
 * or without `tenantId`.
 *
 * @example
 * const { groups, totals } = await queryUsage(trx, {
 *   tenantId, from: new Date('2026-03-01'), to: new Date('2026-04-01'), groupBy: ['model', 'day'],
 * });
 */
export async function queryUsage(db: Kysely<Schema>, query: UsageQuery): Promise<UsageResult> {
  const maxGroups = query.maxGroups ?? 50_000;
  const dims = [...new Set(query.groupBy)];
  const split = splitRange(query.from, query.to);
  const parts: RawBuilder<unknown>[] = [];
  if (split.days) {
    parts.push(
      part('daily', dims, query, [sql`day >= ${split.days.from}::date`, sql`day < ${split.days.to}::date`]),
    );
  }
  for (const edge of split.edges) {
    parts.push(
      part('events', dims, query, [
        sql`occurred_at >= ${edge.from.toISOString()}::timestamptz`,
        sql`occurred_at < ${edge.to.toISOString()}::timestamptz`,
      ]),
    );
  }
  if (parts.length === 0) return { groups: [], totals: emptyTotals(), truncated: false };

  // Parts group by raw values (k0, k1 …); only the final groups are turned into text (g0, g1 …).
  const keys = dims.map((_, i) => sql.raw(`k${i}`));
  const outputs = dims.map(
    (dim, i) => sql`${sql.raw(DIMENSION_SQL[dim].output(`k${i}`))} as ${sql.ref(`g${i}`)}`,
  );
  // One part is already grouped by the keys; several (rollup and edges) are summed once more.
  const single = parts.length === 1;
  const sums = SUMMED.map((c) =>
    single
      ? sql`coalesce(${sql.ref(c)}, 0)::text as ${sql.ref(c)}`
      : sql`coalesce(sum(${sql.ref(c)}), 0)::text as ${sql.ref(c)}`,
  );
  const lastAt = single ? sql`last_at` : sql`max(last_at) as last_at`;
  const order = sql` order by ${sql.join(keys.map((k) => sql`${k} asc nulls last`))}`;
  const grouping = dims.length === 0 ? sql`` : single ? order : sql` group by ${sql.join(keys)}${order}`;
  const statement = sql<Record<string, unknown>>`
    select ${sql.join([...outputs, ...sums, lastAt])}
    from (${sql.join(parts, sql` union all `)}) as parts
    ${grouping}
    limit ${maxGroups + 1}`;
  const run = async (trx: Kysely<Schema>) => {
    // A tenant's query reads a few thousand rows: starting parallel workers costs more than it
    // saves (measured 2-4x slower on a busy 2-core server). Operator-wide queries keep them.
    if (query.tenantId === undefined) return statement.execute(trx);
    await sql`set local max_parallel_workers_per_gather = 0`.execute(trx);
    const result = await statement.execute(trx);
    await sql`set local max_parallel_workers_per_gather to default`.execute(trx);
    return result;
  };
  const rows = db.isTransaction ? await run(db) : await db.transaction().execute(run);

  const truncated = rows.rows.length > maxGroups;
  const groups = rows.rows.slice(0, maxGroups).map((row): UsageGroup => {
    const key: Partial<Record<UsageDimension, string | null>> = {};
    dims.forEach((dim, i) => {
      key[dim] = (row[`g${i}`] as string | null) ?? null;
    });
    return { key, totals: toTotals(row) };
  });
  // An empty range with no grouping still answers one group of zeros: totals come from it.
  const nonEmpty = dims.length > 0 ? groups : groups.filter((g) => g.totals.requests > 0);
  return {
    groups: nonEmpty,
    totals: nonEmpty.reduce((sum, g) => addTotals(sum, g.totals), emptyTotals()),
    truncated,
  };
}

/** One side of the union: the rollup's sums, or the events' counts, grouped by the same keys. */
function part(
  table: 'daily' | 'events',
  dims: readonly UsageDimension[],
  filter: UsageFilter,
  range: RawBuilder<unknown>[],
): RawBuilder<unknown> {
  const keys = dims.map((dim, i) => sql`${sql.raw(DIMENSION_SQL[dim][table])} as ${sql.raw(`k${i}`)}`);
  const where = [...filterSql(filter), ...range];
  const measures =
    table === 'daily'
      ? [...SUMMED.map((c) => sql`sum(${sql.ref(c)})::bigint as ${sql.ref(c)}`), sql`max(last_at) as last_at`]
      : [
          sql`count(*) as requests`,
          sql`count(*) filter (where status = 'error') as errors`,
          sql`count(*) filter (where estimated) as estimated_requests`,
          sql`sum(input_tokens)::bigint as input_tokens`,
          sql`sum(output_tokens)::bigint as output_tokens`,
          sql`sum(cached_input_tokens)::bigint as cached_input_tokens`,
          sql`sum(cache_write_input_tokens)::bigint as cache_write_input_tokens`,
          sql`sum(reasoning_tokens)::bigint as reasoning_tokens`,
          sql`sum(cost_micros)::bigint as cost_micros`,
          sql`sum(latency_ms)::bigint as latency_ms_total`,
          sql`max(occurred_at) as last_at`,
        ];
  const from = table === 'daily' ? sql.raw('usage_daily') : sql.raw('usage_events');
  const groupBy =
    dims.length > 0 ? sql` group by ${sql.join(dims.map((_, i) => sql.raw(String(i + 1))))}` : sql``;
  return sql`(select ${sql.join([...keys, ...measures])} from ${from} where ${sql.join(where, sql` and `)}${groupBy})`;
}

function filterSql(filter: UsageFilter): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = [];
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as Array<[keyof UsageFilter, string]>) {
    const value = filter[field];
    if (value !== undefined) out.push(sql`${sql.ref(column)} = ${value}`);
  }
  return out;
}

/**
 * A row's sums. The raw query's result keys come back camelCased (the store's `CamelCasePlugin`
 * applies to every result).
 */
function toTotals(row: Record<string, unknown>): UsageTotals {
  const n = (key: string) => toCount(row[key]);
  const lastAt = row.lastAt;
  return {
    requests: n('requests'),
    errors: n('errors'),
    estimatedRequests: n('estimatedRequests'),
    inputTokens: n('inputTokens'),
    outputTokens: n('outputTokens'),
    cachedInputTokens: n('cachedInputTokens'),
    cacheWriteInputTokens: n('cacheWriteInputTokens'),
    reasoningTokens: n('reasoningTokens'),
    costMicros: n('costMicros'),
    latencyMsTotal: n('latencyMsTotal'),
    lastAt: lastAt === null || lastAt === undefined ? null : new Date(lastAt as string | Date),
  };
}

function toCount(value: unknown): number {
  const count = Number(value ?? 0);
  if (!Number.isSafeInteger(count)) throw new RangeError('A usage sum exceeds 2^53');
  return count;
}

export function emptyTotals(): UsageTotals {
  return {
    requests: 0,
    errors: 0,
    estimatedRequests: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    costMicros: 0,
    latencyMsTotal: 0,
    lastAt: null,
  };
}

export function addTotals(a: UsageTotals, b: UsageTotals): UsageTotals {
  const lastAt =
    a.lastAt === null ? b.lastAt : b.lastAt === null ? a.lastAt : a.lastAt > b.lastAt ? a.lastAt : b.lastAt;
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    estimatedRequests: a.estimatedRequests + b.estimatedRequests,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    costMicros: a.costMicros + b.costMicros,
    latencyMsTotal: a.latencyMsTotal + b.latencyMsTotal,
    lastAt,
  };
}

/**
 * Each credential's usage since `sinceDay` (a UTC day, included) up to now, from the rollup: what
 * credential listings show. Credentials without usage are absent from the map.
 */
export async function summarizeCredentialUsage(
  db: Kysely<Schema>,
  credentialIds: readonly string[],
  sinceDay: string,
): Promise<Map<string, UsageTotals>> {
  const out = new Map<string, UsageTotals>();
  if (credentialIds.length === 0) return out;
  const rows = await sql<Record<string, unknown>>`
    select credential_id::text as credential, ${sql.join(
      SUMMED.map((c) => sql`sum(${sql.ref(c)})::text as ${sql.ref(c)}`),
    )}, max(last_at) as last_at
    from usage_daily
    where credential_id in (${sql.join(credentialIds.map((id) => sql`${id}::uuid`))})
      and day >= ${sinceDay}::date
    group by credential_id`.execute(db);
  for (const row of rows.rows) out.set(row.credential as string, toTotals(row));
  return out;
}
