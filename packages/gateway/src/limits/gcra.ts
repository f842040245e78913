/**
 * GCRA (generic cell rate algorithm), the exact form of a token bucket that keeps one number per
 * key: the theoretical arrival time (TAT), the moment the bucket will be full again.
 *
 * With a limit of L per period P, each unit (a request, a token) costs an emission interval
 * T = P / L and the burst tolerance is the whole period: a request of cost n at time `now` is
 * admitted iff max(TAT, now) + n·T − P ≤ now, and then TAT becomes max(TAT, now) + n·T.
 *
 * Error bounds, stated exactly:
 * - Over any stretch of time t the admitted total is at most L + L·t/P: the long-run rate is exactly
 *   L per P, with no approximation (unlike a sliding-window counter, which assumes the previous
 *   window's traffic was spread evenly).
 * - Bursts: a full bucket admits L at once. So one sliding window of length P can see up to 2L
 *   (a full burst, then L more refilled during the window) — the same worst case as a fixed window,
 *   but only after an idle period, never twice in a row.
 * - Tokens are charged at check time from an estimate and corrected at settle time, so tokens
 *   actually consumed can pass these bounds by what calls in flight under-estimated; the excess is
 *   then owed (TAT beyond now + P) and blocks the scope until it has drained.
 * - Times are milliseconds as doubles; the Redis script stores TAT with 4 decimals, so each
 *   operation may round by 0.0001 ms — far below one emission interval for any practical limit.
 *
 * OpenAI's own limits behave this way (continuous replenishment; "x-ratelimit-reset-*" is the time
 * until the limit is back to its initial state, which is TAT − now). The Redis Lua scripts in
 * `rate-limit-lua.ts` implement the same arithmetic; the shared test suite runs both.
 */
export interface GcraStep {
  /** Whether the cost fits now. */
  allowed: boolean;
  /** The cost can never fit (n·T > P). */
  tooLarge: boolean;
  /** The TAT to store when admitted. */
  newTat: number;
  /** Milliseconds until the cost would fit (0 when allowed). */
  waitMs: number;
  /** Units left after this step (after charging when allowed, without charging when refused). */
  remaining: number;
  /** Milliseconds until the bucket is full again (after charging when allowed). */
  resetMs: number;
}

export function gcraStep(
  tat: number | undefined,
  now: number,
  limit: number,
  periodMs: number,
  cost: number,
): GcraStep {
  const interval = periodMs / limit;
  const base = tat === undefined || tat < now ? now : tat;
  const newTat = base + cost * interval;
  const allowAt = newTat - periodMs;
  // One object per step, no spread of a helper's result: this runs for every limited dimension
  // of every request.
  const tooLarge = cost * interval > periodMs;
  const allowed = !tooLarge && allowAt <= now;
  const levelTat = allowed ? newTat : base;
  const used = levelTat - now;
  return {
    allowed,
    tooLarge,
    newTat,
    waitMs: allowed || tooLarge ? 0 : Math.ceil(allowAt - now),
    // The small epsilon keeps an exact multiple of the interval from flooring one unit short.
    remaining: Math.max(0, Math.min(limit, Math.floor((periodMs - used) / interval + 1e-9))),
    resetMs: Math.max(0, Math.ceil(used)),
  };
}

/** Applies a correction of `delta` units (negative refunds) to a TAT; undefined means "full". */
export function gcraAdjust(
  tat: number | undefined,
  now: number,
  limit: number,
  periodMs: number,
  delta: number,
): number | undefined {
  const base = tat === undefined || tat < now ? now : tat;
  const next = base + delta * (periodMs / limit);
  return next <= now ? undefined : next;
}
