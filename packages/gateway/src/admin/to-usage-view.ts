import {
  dayOf,
  emptyTotals,
  type UsageDimension,
  type UsageGroup,
  type UsageTotals,
} from '../store/usage-queries.js';
import { iso } from './schema-helpers.js';
import type { CsvCell } from './to-csv.js';
import { type CredentialUsageView, GROUP_FIELDS, type UsageTotalsView } from './usage-schemas.js';

/** Integer micro-dollars as a decimal US$ string with six places (`1234567` → `1.234567`). */
export function microsToUsd(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  return `${whole}.${String(micros - whole * 1_000_000).padStart(6, '0')}`;
}

export function toTotalsView(t: UsageTotals): UsageTotalsView {
  return {
    requests: t.requests,
    errors: t.errors,
    estimated_requests: t.estimatedRequests,
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    cached_input_tokens: t.cachedInputTokens,
    cache_write_input_tokens: t.cacheWriteInputTokens,
    reasoning_tokens: t.reasoningTokens,
    cost_micros: t.costMicros,
    cost_usd: microsToUsd(t.costMicros),
    avg_latency_ms: t.requests > 0 ? Math.round(t.latencyMsTotal / t.requests) : null,
    last_at: iso(t.lastAt),
  };
}

/** A group as the API shows it: its dimension values under their field names, then the sums. */
export function toGroupView(group: UsageGroup, dims: readonly UsageDimension[]): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const dim of dims) view[GROUP_FIELDS[dim]] = group.key[dim] ?? null;
  return { ...view, ...toTotalsView(group.totals) };
}

/** The sums' columns, in the order CSV exports list them. */
export const TOTALS_COLUMNS = [
  'requests',
  'errors',
  'estimated_requests',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cache_write_input_tokens',
  'reasoning_tokens',
  'cost_micros',
  'cost_usd',
  'avg_latency_ms',
  'last_at',
] as const satisfies readonly (keyof UsageTotalsView)[];

export function totalsCells(t: UsageTotals): CsvCell[] {
  const view = toTotalsView(t);
  return TOTALS_COLUMNS.map((c) => view[c]);
}

/** How far back credential listings sum each credential's usage: this many UTC days, today included. */
export const CREDENTIAL_USAGE_DAYS = 30;

/** The first UTC day of the credential usage window. */
export const usageWindowStart = (now: number = Date.now()): string =>
  dayOf(now - (CREDENTIAL_USAGE_DAYS - 1) * 86_400_000);

export function toCredentialUsageView(t: UsageTotals | undefined): CredentialUsageView {
  const totals = t ?? emptyTotals();
  return {
    window_days: CREDENTIAL_USAGE_DAYS,
    requests: totals.requests,
    errors: totals.errors,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    cost_micros: totals.costMicros,
    last_request_at: iso(totals.lastAt),
  };
}
