import type { Caller } from '../auth/authenticate.js';
import type { BudgetSettings, RateLimitSettings, Tenant } from '../routing/directory.js';
import type { Budget } from './budgets.js';
import type { RateScope } from './rate-limiter.js';

/** The rate-limit scopes and budgets that apply to one caller's requests. */
export interface CallerLimits {
  tenantId: string;
  /** Tenant, user and virtual key scopes that have a limit; empty: no rate check. */
  scopes: readonly RateScope[];
  /** Every budget that applies (hard and soft), with counter ids unique across tenants. */
  budgets: readonly Budget[];
  /** `settings[i]` is the tenant's setting behind `budgets[i]` (for messages that name it). */
  settings: readonly BudgetSettings[];
}

interface Cached {
  limits: CallerLimits;
  /** The objects the entry was built from: a reloaded user or membership list rebuilds it. */
  user: Caller['user'];
  memberships: Caller['memberships'];
}

/**
 * Works out a caller's limits from tenant policy, cached per tenant object (the directory cache
 * hands out the same object until the tenant changes or expires), so the hot path allocates
 * nothing once warm.
 */
export function createCallerLimits(): (caller: Caller) => CallerLimits {
  const byTenant = new WeakMap<Tenant, Map<string, Cached>>();
  return (caller) => {
    let entries = byTenant.get(caller.tenant);
    if (!entries) {
      entries = new Map();
      byTenant.set(caller.tenant, entries);
    }
    const key = `${caller.user?.id ?? ''}\u0000${caller.virtualKeyId}`;
    const hit = entries.get(key);
    if (hit && hit.user === caller.user && hit.memberships === caller.memberships) return hit.limits;
    const limits = callerLimits(caller);
    // Bounded: a tenant with very many keys or users rebuilds instead of growing without end.
    if (entries.size >= 10_000) entries.clear();
    entries.set(key, { limits, user: caller.user, memberships: caller.memberships });
    return limits;
  };
}

/** The scopes and budgets of a caller, uncached. */
export function callerLimits(caller: Caller): CallerLimits {
  const { tenant, user, virtualKeyId } = caller;
  const policy = tenant.settings.limits;
  const scopes: RateScope[] = [];
  const add = (kind: RateScope['kind'], id: string, limits: RateLimitSettings | undefined) => {
    if (!limits || (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined)) return;
    scopes.push({
      kind,
      id,
      ...(limits.requestsPerMinute !== undefined ? { rpm: limits.requestsPerMinute } : {}),
      ...(limits.tokensPerMinute !== undefined ? { tpm: limits.tokensPerMinute } : {}),
    });
  };
  add('tenant', tenant.id, policy);
  if (user) add('user', user.id, user.limits ?? policy?.perUser);
  add('key', virtualKeyId, policy?.keys?.[virtualKeyId] ?? policy?.perKey);

  const budgets: Budget[] = [];
  const settings: BudgetSettings[] = [];
  const push = (b: BudgetSettings, kind: Budget['scope']['kind'], subject: string, each: boolean) => {
    budgets.push({
      id: budgetCounterId(tenant.id, b.id, each ? subject : undefined),
      scope: { kind, id: subject },
      period: b.period,
      limitMicros: b.limitMicros,
      mode: b.mode,
    });
    settings.push(b);
  };
  for (const b of tenant.settings.budgets ?? []) {
    switch (b.scope) {
      case 'tenant':
        push(b, 'tenant', tenant.id, false);
        break;
      case 'user':
        if (user && (b.scopeId === undefined || b.scopeId === user.id))
          push(b, 'user', user.id, b.scopeId === undefined);
        break;
      case 'key':
        if (b.scopeId === undefined || b.scopeId === virtualKeyId)
          push(b, 'key', virtualKeyId, b.scopeId === undefined);
        break;
      case 'group':
        for (const m of caller.memberships) {
          if (b.scopeId === undefined || b.scopeId === m.groupId)
            push(b, 'group', m.groupId, b.scopeId === undefined);
        }
        break;
    }
  }
  return { tenantId: tenant.id, scopes, budgets, settings };
}

/**
 * The counter id of a budget: `<tenant>/<budget>` or, for a budget that applies to each group,
 * user or key separately, `<tenant>/<budget>/<subject>`. Tenant and budget ids cannot contain `/`.
 */
export function budgetCounterId(tenantId: string, budgetId: string, subject?: string): string {
  return subject === undefined ? `${tenantId}/${budgetId}` : `${tenantId}/${budgetId}/${subject}`;
}

/** The tenant and configured budget id behind a counter id. */
export function parseBudgetCounterId(id: string): { tenantId: string; budgetId: string } {
  const [tenantId = '', budgetId = ''] = id.split('/', 2);
  return { tenantId, budgetId };
}
