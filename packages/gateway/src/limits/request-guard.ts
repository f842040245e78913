import type { Caller } from '../auth/authenticate.js';
import { type Outcome, type Problem, problem } from '../http/problem.js';
import type { PriceTable } from '../metering/price-table.js';
import { worstCaseCost } from '../metering/worst-case-cost.js';
import type { Awaitable } from '../routing/directory.js';
import { type BudgetReservation, budgetExceededMessage, type ReserveResult } from './budgets.js';
import { type CallerLimits, createCallerLimits } from './caller-limits.js';
import type { Limits } from './create-limits.js';
import type { RateCheckResult, RateLimitHeaders, RateTicket } from './rate-limiter.js';

/** What the guard needs to know about a call before it goes upstream. */
export interface AdmissionRequest {
  caller: Caller;
  provider: string;
  model: string;
  /** Estimated prompt tokens (see `estimate-tokens.ts`). */
  inputTokens: number;
  /** The most output the call may produce (its max tokens, else the gateway's default cap). */
  maxOutputTokens: number;
}

/** An admitted call's holds: settle them with the real usage, or release them. */
export interface Admission {
  /** `x-ratelimit-*` headers for the response (empty when no rate limit applies). */
  readonly headers: RateLimitHeaders;
  /** The call consumed tokens: charge the real token count and cost. Once; later calls are ignored. */
  settle(tokens: number, micros: number): void;
  /** The call failed before any token was consumed: drop the holds. */
  release(): void;
}

export interface RequestGuard {
  /**
   * Rate-limit check then budget reservation. A refusal is a 429 problem (`rate_limit_exceeded`
   * or `budget_exceeded`) with its headers; a backend failure (Redis down) is a 503
   * `limits_unavailable` — the gateway never serves unlimited traffic.
   */
  admit(request: AdmissionRequest): Awaitable<Outcome<Admission>>;
  /** Resolves once every settlement started so far has reached the backend (for shutdown). */
  drain(): Promise<void>;
}

export interface RequestGuardOptions {
  limits: Limits;
  prices: PriceTable;
  /** A settlement that failed (Redis down after the call): logged; the ledger stays the record. */
  onError?: (error: unknown) => void;
}

const NO_HEADERS: RateLimitHeaders = Object.freeze({}) as RateLimitHeaders;

/** Admission for callers without any limit or budget: nothing to check, hold or settle. */
const UNLIMITED: Outcome<Admission> = {
  ok: true,
  value: { headers: NO_HEADERS, settle() {}, release() {} },
};

const UNAVAILABLE: Problem = {
  ...problem(
    503,
    'limits_unavailable',
    'Rate limits and budgets cannot be checked right now; try again shortly',
  ),
  retryAfterSeconds: 1,
};

/**
 * Guards the request path with the tenant's rate limits and budgets. Order per call:
 * 1. `rateLimiter.check` on the caller's tenant, user and key scopes, charging one request and the
 *    token estimate (prompt estimate + output allowance);
 * 2. `budgets.reserve` of the worst-case cost on every applicable budget — skipped when there is
 *    no budget or the model has no price (such a call is never blocked);
 * 3. after the call, `settle` charges the real tokens and cost (or `release` drops the holds),
 *    without being awaited by the response.
 *
 * @example
 * const admitted = await guard.admit({ caller, provider, model, inputTokens: 900, maxOutputTokens: 1024 });
 * if (!admitted.ok) return sendProblem(reply, surface, admitted.problem);
 * try { const r = await call(); admitted.value.settle(r.usage.totalTokens, costOf(r.usage)); }
 * catch (e) { admitted.value.release(); throw e; }
 */
export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  const { limits, prices } = options;
  const limitsOf = createCallerLimits();
  const pending = new Set<Promise<unknown>>();
  const onError = options.onError ?? (() => {});

  /** Follows a settlement to the backend; an in-process one is already done (no promise). */
  function track(work: Awaitable<unknown>): void {
    if (!(work instanceof Promise)) return;
    const p = work.catch(onError).finally(() => pending.delete(p));
    pending.add(p);
  }

  function refund(ticket: RateTicket | undefined): void {
    if (ticket && ticket.reservedTokens > 0 && ticket.scopes.length > 0)
      track(limits.rateLimiter.settle(ticket, 0));
  }

  function admission(
    headers: RateLimitHeaders,
    ticket: RateTicket | undefined,
    reservation: BudgetReservation | undefined,
  ): Admission {
    let open = true;
    return {
      headers,
      settle(tokens, micros) {
        if (!open) return;
        open = false;
        if (ticket && ticket.scopes.length > 0) track(limits.rateLimiter.settle(ticket, tokens));
        if (reservation) track(limits.budgets.settle(reservation, micros));
      },
      release() {
        if (!open) return;
        open = false;
        refund(ticket);
        if (reservation) track(limits.budgets.release(reservation));
      },
    };
  }

  function reserve(
    request: AdmissionRequest,
    applicable: CallerLimits,
    ticket: RateTicket | undefined,
    headers: RateLimitHeaders,
  ): Awaitable<Outcome<Admission>> {
    const worst = worstCaseCost(prices, request.provider, request.model, {
      inputTokens: request.inputTokens,
      maxOutputTokens: request.maxOutputTokens,
    });
    if (!worst.priced || worst.micros <= 0) return { ok: true, value: admission(headers, ticket, undefined) };
    const failed = (error: unknown): Outcome<Admission> => {
      refund(ticket);
      onError(error);
      return { ok: false, problem: UNAVAILABLE };
    };
    const reserved = limits.budgets.reserve({ budgets: applicable.budgets, micros: worst.micros });
    if (reserved instanceof Promise) {
      return reserved.then((r) => reservedOutcome(r, applicable, ticket, headers), failed);
    }
    return reservedOutcome(reserved, applicable, ticket, headers);
  }

  function reservedOutcome(
    reserved: ReserveResult,
    applicable: CallerLimits,
    ticket: RateTicket | undefined,
    headers: RateLimitHeaders,
  ): Outcome<Admission> {
    if (reserved.ok) return { ok: true, value: admission(headers, ticket, reserved.reservation) };
    refund(ticket);
    const index = applicable.budgets.indexOf(reserved.budget);
    const setting = applicable.settings[index];
    const named = setting ? { ...reserved.budget, id: setting.id } : reserved.budget;
    // Built by assignment, not `{ ...problem(…), headers }` (test/hot-path-literals.test.ts): a
    // tenant hammering its limit is refused cheaply.
    const refusal = problem(429, 'budget_exceeded', budgetExceededMessage(named));
    refusal.retryAfterSeconds = Math.max(1, Math.ceil((reserved.window.endMs - Date.now()) / 1000));
    // Retrying cannot help before the period ends: tell the official SDKs not to.
    refusal.headers = withNoRetry(headers);
    return { ok: false, problem: refusal };
  }

  /** The rate check's verdict; on admission, on to the budgets. */
  function afterCheck(
    request: AdmissionRequest,
    applicable: CallerLimits,
    checked: RateCheckResult,
  ): Awaitable<Outcome<Admission>> {
    if (!checked.ok) {
      const { scope, limit, retryAfterMs } = checked;
      const retry = checked.headers['retry-after'];
      const refusal = problem(
        429,
        'rate_limit_exceeded',
        retryAfterMs === null
          ? `This request's token estimate is larger than the ${scope.kind} '${scope.id}' limit of ${scope.tpm} tokens per minute`
          : `Rate limit of ${scope.kind} '${scope.id}' reached: ${limit === 'requests' ? `${scope.rpm} requests` : `${scope.tpm} tokens`} per minute`,
      );
      if (retry !== undefined) refusal.retryAfterSeconds = Number(retry);
      refusal.headers = retryAfterMs === null ? withNoRetry(checked.headers) : checked.headers;
      return { ok: false, problem: refusal };
    }
    if (applicable.budgets.length === 0) {
      return { ok: true, value: admission(checked.headers, checked.ticket, undefined) };
    }
    return reserve(request, applicable, checked.ticket, checked.headers);
  }

  const unavailable = (error: unknown): Outcome<Admission> => {
    onError(error);
    return { ok: false, problem: UNAVAILABLE };
  };

  return {
    admit(request) {
      const applicable = limitsOf(request.caller);
      if (applicable.scopes.length === 0 && applicable.budgets.length === 0) return UNLIMITED;
      if (applicable.scopes.length === 0) return reserve(request, applicable, undefined, NO_HEADERS);
      let checked: Awaitable<RateCheckResult>;
      try {
        checked = limits.rateLimiter.check({
          tenantId: applicable.tenantId,
          scopes: applicable.scopes,
          tokens: request.inputTokens + request.maxOutputTokens,
        });
      } catch (error) {
        return unavailable(error);
      }
      // In-process counters answer at once: the warm path takes no microtask here.
      if (checked instanceof Promise) {
        return checked.then((c) => afterCheck(request, applicable, c), unavailable);
      }
      return afterCheck(request, applicable, checked);
    },

    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** The rate-limit headers plus `x-should-retry: false`, copied (the input is not changed). */
function withNoRetry(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = Object.assign({}, headers);
  out['x-should-retry'] = 'false';
  return out;
}
