import { gcraAdjust, gcraStep } from './gcra.js';
import { decide, toDimensions, toTokenCost } from './rate-decision.js';
import {
  RATE_PERIOD_MS,
  type RateCheckInput,
  type RateCheckResult,
  type RateLimiter,
  type RateScope,
} from './rate-limiter.js';

export interface MemoryRateLimiterOptions {
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** Entries whose bucket is full again are dropped every this many operations. */
const SWEEP_EVERY = 10_000;

/**
 * Rate limits held in this process: right for a single gateway instance, wrong for several
 * (each would allow the full limit) — give a Redis URL then.
 *
 * Each check reads and writes a few map entries synchronously, so it is atomic without a lock,
 * and one tenant at its limit costs another tenant nothing.
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? Date.now;
  const tats = new Map<string, number>();
  let operations = 0;

  function sweep(at: number) {
    if (++operations % SWEEP_EVERY !== 0) return;
    for (const [key, tat] of tats) if (tat <= at) tats.delete(key);
  }

  function checkNow(input: RateCheckInput): RateCheckResult {
    const at = now();
    const tokens = toTokenCost(input.tokens);
    const dims = toDimensions(input.scopes, tokens);
    const keys = dims.map((d) => memoryKey(input.tenantId, d.scope, d.limit));
    const steps = dims.map((d, i) => gcraStep(tats.get(keys[i]!), at, d.max, RATE_PERIOD_MS, d.cost));
    if (steps.every((s) => s.allowed)) {
      for (let i = 0; i < steps.length; i++) tats.set(keys[i]!, steps[i]!.newTat);
    }
    sweep(at);
    return decide(input.tenantId, input.scopes, dims, steps, tokens);
  }

  // Synchronous: the counters are here, so a check costs no promise and no microtask.
  return {
    check(input) {
      try {
        return checkNow(input);
      } catch (error) {
        // A malformed limit fails the check the way a backend failure would: as a rejection.
        return Promise.reject(error);
      }
    },

    settle(ticket, actualTokens) {
      const delta = toTokenCost(actualTokens) - ticket.reservedTokens;
      if (delta === 0) return;
      const at = now();
      for (const scope of ticket.scopes) {
        if (scope.tpm === undefined) continue;
        const key = memoryKey(ticket.tenantId, scope, 'tokens');
        const next = gcraAdjust(tats.get(key), at, scope.tpm, RATE_PERIOD_MS, delta);
        if (next === undefined) tats.delete(key);
        else tats.set(key, next);
      }
    },

    async close() {
      tats.clear();
    },
  };
}

// Scopes are cached with their caller's limits (caller-limits.ts), so their keys are too.
const keysOf = new WeakMap<RateScope, { tenantId: string; requests: string; tokens: string }>();

function memoryKey(tenantId: string, scope: RateScope, limit: 'requests' | 'tokens'): string {
  let keys = keysOf.get(scope);
  if (keys === undefined || keys.tenantId !== tenantId) {
    const base = `${tenantId}\u0000${scope.kind}\u0000${scope.id}\u0000`;
    keys = { tenantId, requests: `${base}requests`, tokens: `${base}tokens` };
    keysOf.set(scope, keys);
  }
  return limit === 'requests' ? keys.requests : keys.tokens;
}
