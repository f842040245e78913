import { Type } from '@sinclair/typebox';
import { getTenant } from '../store/tenants.js';
import {
  addTotals,
  emptyTotals,
  isUsageDimension,
  queryUsage,
  type UsageDimension,
  type UsageResult,
  type UsageTotals,
} from '../store/usage-queries.js';
import { badRequest, notFound } from './admin-error.js';
import type { Principal } from './principal.js';
import { ADMINS, ALL_ROLES, type AnyRouteSpec, defineRoute, RawReply } from './route-spec.js';
import { Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';
import { type CsvCell, toCsv } from './to-csv.js';
import { TOTALS_COLUMNS, toGroupView, toTotalsView, totalsCells } from './to-usage-view.js';
import {
  addDays,
  checkRange,
  daysBetween,
  parseDay,
  parseInstant,
  startOfDay,
  startOfMonth,
} from './usage-range.js';
import { GROUP_FIELDS, MeteringQuery, MeteringReport, UsageQuery, UsageReport } from './usage-schemas.js';

/** Most groups one `/usage` answer holds; more is a 400 asking for a narrower query. */
const MAX_GROUPS = 50_000;

const CSV = 'text/csv; charset=utf-8';

/** Usage and cost per tenant and time range (JSON or CSV), and the per-tenant metering report. */
export function usageRoutes(): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/usage',
      operationId: 'queryUsage',
      summary: 'Usage and cost over a time range, grouped by any of the ledger’s dimensions',
      description:
        'Tenant admins see their tenant, members their own usage only, the operator every tenant or one ' +
        '(`tenant_id`). Whole UTC days come from the daily rollup, partial edge days from the events: totals ' +
        `are exact. At most ${MAX_GROUPS} groups and 366 days per query. \`?format=csv\` (or ` +
        '`Accept: text/csv`) answers CSV with the same columns.',
      tag: 'Usage',
      roles: ALL_ROLES,
      query: UsageQuery,
      status: 200,
      response: UsageReport,
      produces: ['text/csv'],
      handler: async (ctx) => {
        const q = ctx.query;
        const now = new Date();
        const from = q.from !== undefined ? parseInstant(q.from, 'from') : startOfMonth(now);
        const to = q.to !== undefined ? parseInstant(q.to, 'to') : addDays(startOfDay(now), 1);
        checkRange(from, to, { from: 'from', to: 'to' });
        const groupBy = parseGroupBy(q.group_by);
        const scope = await scopeOf(ctx.principal, q.tenant_id, q.user_id, (id) =>
          getTenant(ctx.deps.db, id),
        );
        const result = await inScope(ctx.deps.db, scope.tenantId ?? null, (trx) =>
          queryUsage(trx, {
            from,
            to,
            groupBy,
            maxGroups: MAX_GROUPS,
            ...(scope.tenantId ? { tenantId: scope.tenantId } : {}),
            ...(scope.userId ? { userId: scope.userId } : {}),
            ...(q.virtual_key_id ? { virtualKeyId: q.virtual_key_id } : {}),
            ...(q.credential_id ? { credentialId: q.credential_id } : {}),
            ...(q.provider ? { provider: q.provider } : {}),
            ...(q.model ? { model: q.model } : {}),
            ...(q.operation ? { operation: q.operation } : {}),
            ...(q.key_source ? { keySource: q.key_source } : {}),
          }),
        );
        if (result.truncated) {
          throw badRequest(
            'group_by',
            `More than ${MAX_GROUPS} groups: narrow the range, add filters or group by fewer dimensions`,
          );
        }
        if (wantsCsv(q.format, ctx.request.headers.accept)) {
          const header = [...groupBy.map((d) => GROUP_FIELDS[d]), ...TOTALS_COLUMNS];
          const rows = result.groups.map((g) => [
            ...groupBy.map((d) => g.key[d] ?? null),
            ...totalsCells(g.totals),
          ]);
          return csvReply([header, ...rows], `usage-${fileDate(from)}-${fileDate(to)}.csv`);
        }
        return {
          tenant_id: scope.tenantId ?? null,
          from: from.toISOString(),
          to: to.toISOString(),
          group_by: groupBy,
          groups: result.groups.map((g) => toGroupView(g, groupBy)),
          totals: toTotalsView(result.totals),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/metering/tenant/{tenant_id}',
      operationId: 'getTenantMetering',
      summary: 'A tenant’s usage and cost over whole UTC days: totals, by model and by day',
      description:
        'The operator reads any tenant, a tenant admin only its own (any other id answers 404). `end` is ' +
        'included. Costs in integer micro-dollars and as a decimal US$ string. `?format=csv` (or ' +
        '`Accept: text/csv`) answers one row per day and model.',
      tag: 'Usage',
      roles: ADMINS,
      tenantScoped: true,
      params: Type.Object({ tenant_id: Uuid() }),
      query: MeteringQuery,
      status: 200,
      response: MeteringReport,
      produces: ['text/csv'],
      handler: async (ctx) => {
        const q = ctx.query;
        const today = startOfDay(new Date());
        const start = q.start !== undefined ? parseDay(q.start, 'start') : startOfMonth(today);
        const end = q.end !== undefined ? parseDay(q.end, 'end') : today;
        const to = addDays(end, 1);
        checkRange(start, to, { from: 'start', to: 'end' });
        const tenantId = ctx.tenantId;
        const result = await inScope(ctx.deps.db, tenantId, (trx) =>
          queryUsage(trx, {
            tenantId,
            from: start,
            to,
            groupBy: ['day', 'provider', 'model'],
            maxGroups: 1_000_000,
          }),
        );
        const period = { start: fileDate(start), end: fileDate(end) };
        if (wantsCsv(q.format, ctx.request.headers.accept)) {
          const header = ['tenant_id', 'day', 'provider', 'model', ...TOTALS_COLUMNS];
          const rows = result.groups.map((g) => [
            tenantId,
            g.key.day ?? null,
            g.key.provider ?? null,
            g.key.model ?? null,
            ...totalsCells(g.totals),
          ]);
          return csvReply([header, ...rows], `metering-${tenantId}-${period.start}-${period.end}.csv`);
        }
        return {
          tenant_id: tenantId,
          period: { ...period, from: start.toISOString(), to: to.toISOString() },
          currency: 'USD',
          ...meteringBreakdown(result, start, to),
        };
      },
    }),
  ];
}

/** `model,day` → `['model', 'day']`; an unknown dimension is a 400 naming it. */
function parseGroupBy(value: string | undefined): UsageDimension[] {
  if (value === undefined || value.trim() === '') return [];
  const out: UsageDimension[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (!isUsageDimension(name)) {
      throw badRequest('group_by', `Unknown group_by dimension "${name.slice(0, 40)}"`);
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Whose usage a caller may read: the operator any tenant (or all), a tenant admin its own tenant,
 * a member its own usage. A tenant or user id other than the caller's own is a 404, as if it did
 * not exist, rather than a silent switch to the caller's own data.
 */
async function scopeOf(
  principal: Principal,
  tenantId: string | undefined,
  userId: string | undefined,
  tenantExists: (id: string) => Promise<unknown>,
): Promise<{ tenantId?: string; userId?: string }> {
  if (principal.role === 'operator') {
    if (tenantId === undefined) return userId ? { userId } : {};
    if (!(await tenantExists(tenantId.toLowerCase()))) throw notFound('tenant');
    return { tenantId: tenantId.toLowerCase(), ...(userId ? { userId } : {}) };
  }
  if (tenantId !== undefined && tenantId.toLowerCase() !== principal.tenantId) throw notFound('tenant');
  if (principal.role === 'member') {
    if (userId !== undefined && userId.toLowerCase() !== principal.userId) throw notFound('user');
    return { tenantId: principal.tenantId, userId: principal.userId };
  }
  return { tenantId: principal.tenantId, ...(userId ? { userId } : {}) };
}

/**
 * The metering report's sums out of a `day, provider, model` grouping: totals, models by cost, and
 * every day of `[from, to)` (zeros where nothing was used).
 */
export function meteringBreakdown(result: UsageResult, from: Date, to: Date) {
  const byModel = new Map<string, { provider: string; model: string; totals: UsageTotals }>();
  const byDay = new Map<string, UsageTotals>(daysBetween(from, to).map((d) => [d, emptyTotals()]));
  for (const g of result.groups) {
    const provider = g.key.provider ?? '';
    const model = g.key.model ?? '';
    const key = `${provider}\u0000${model}`;
    const entry = byModel.get(key) ?? { provider, model, totals: emptyTotals() };
    entry.totals = addTotals(entry.totals, g.totals);
    byModel.set(key, entry);
    const day = g.key.day ?? '';
    byDay.set(day, addTotals(byDay.get(day) ?? emptyTotals(), g.totals));
  }
  const models = [...byModel.values()].sort(
    (a, b) =>
      b.totals.costMicros - a.totals.costMicros ||
      a.provider.localeCompare(b.provider) ||
      a.model.localeCompare(b.model),
  );
  return {
    totals: toTotalsView(result.totals),
    by_model: models.map((m) => ({ provider: m.provider, model: m.model, ...toTotalsView(m.totals) })),
    by_day: [...byDay].map(([day, totals]) => ({ day, ...toTotalsView(totals) })),
  };
}

/** `?format=` decides; without it, an `Accept` that names `text/csv` does. */
function wantsCsv(format: 'json' | 'csv' | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return (accept ?? '').split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    return type === 'text/csv' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

function csvReply(rows: readonly (readonly CsvCell[])[], filename: string): RawReply {
  return new RawReply(CSV, toCsv(rows), { 'content-disposition': `attachment; filename="${filename}"` });
}

/** `2026-03-01` for a midnight, `2026-03-01T10-30-00Z`-like text otherwise (safe in a file name). */
function fileDate(date: Date): string {
  const text = date.toISOString();
  return text.endsWith('T00:00:00.000Z') ? text.slice(0, 10) : text.slice(0, 19).replace(/:/g, '-');
}
