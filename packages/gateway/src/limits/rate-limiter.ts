import type { Awaitable } from '../routing/directory.js';

/** Who a rate limit applies to. */
export type RateScopeKind = 'tenant' | 'user' | 'key';

/**
 * One rate-limited subject and its limits. A scope without `rpm` or `tpm` is not limited on that
 * dimension. Limits travel with each call (they come from tenant policy), so changing a limit
 * needs no reset; the stored state is reinterpreted at the new rate.
 */
export interface RateScope {
  kind: RateScopeKind;
  id: string;
  /** Requests per minute. */
  rpm?: number;
  /** Tokens (input + output) per minute. */
  tpm?: number;
}

export interface RateCheckInput {
  /**
   * The tenant the request belongs to. Scope state is kept per tenant, so ids that are only unique
   * within a tenant (end-user ids) never collide across tenants; in Redis it is also the hash tag
   * that keeps all of a request's keys in one Cluster slot.
   */
  tenantId: string;
  /** Every scope the request counts against; all must admit it, or none is charged. */
  scopes: readonly RateScope[];
  /**
   * Estimated tokens of the request (prompt estimate + max output), reserved against `tpm` now and
   * corrected with {@link RateLimiter.settle} once the real count is known. Default 0.
   */
  tokens?: number;
}

/**
 * Response headers, lower-case names, OpenAI's names and formats
 * (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers):
 * `x-ratelimit-limit-requests: 60`, `x-ratelimit-remaining-requests: 59`,
 * `x-ratelimit-reset-requests: 1s`, `x-ratelimit-reset-tokens: 6m0s` (a Go duration: the time until
 * the limit is back to its full initial state), and on a refusal `retry-after` in whole seconds.
 */
export type RateLimitHeaders = Record<string, string>;

/** What `settle` needs to correct the token reservation; opaque to callers, serialisable. */
export interface RateTicket {
  readonly tenantId: string;
  readonly scopes: readonly RateScope[];
  readonly reservedTokens: number;
}

export type RateCheckResult =
  | { ok: true; headers: RateLimitHeaders; ticket: RateTicket }
  | {
      ok: false;
      /** The scope that refused (the one with the longest wait when several do). */
      scope: RateScope;
      limit: 'requests' | 'tokens';
      /**
       * How long until the request would fit, or null when it never can: its token estimate is
       * larger than the scope's whole `tpm`.
       */
      retryAfterMs: number | null;
      headers: RateLimitHeaders;
    };

/**
 * Requests- and tokens-per-minute limits, checked and charged atomically across every scope of a
 * request. Refusals are values, not exceptions; a backend failure (Redis unreachable) rejects.
 *
 * @example
 * const r = await limiter.check({ tenantId: t, scopes: [{ kind: 'tenant', id: t, rpm: 600, tpm: 200_000 }], tokens: 1500 });
 * if (!r.ok) return reply.code(429).headers(r.headers).send(…);
 * const result = await callUpstream();
 * await limiter.settle(r.ticket, result.usage.totalTokens);
 */
export interface RateLimiter {
  /** Answers at once (no promise) when the counters are in this process. */
  check(input: RateCheckInput): Awaitable<RateCheckResult>;
  /** Replaces the ticket's token estimate with the real count (refunds or charges the difference). */
  settle(ticket: RateTicket, actualTokens: number): Awaitable<void>;
  close(): Promise<void>;
}

/** The window of every limit: both dimensions are per minute. */
export const RATE_PERIOD_MS = 60_000;
