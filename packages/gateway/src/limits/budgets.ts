import type { Awaitable } from '../routing/directory.js';

/** Who a budget caps. */
export type BudgetScopeKind = 'tenant' | 'group' | 'user' | 'key';

/** UTC calendar periods: a day runs 00:00–24:00 UTC, a month from the 1st 00:00 UTC. */
export type BudgetPeriod = 'day' | 'month';

/** Hard budgets refuse calls that could exceed them; soft budgets only alert. */
export type BudgetMode = 'hard' | 'soft';

export interface Budget {
  /** Stable id (from tenant policy); the counters are keyed by it and the period. */
  id: string;
  scope: { kind: BudgetScopeKind; id: string };
  period: BudgetPeriod;
  /** The cap in integer micro-dollars (1 US$ = 1 000 000). */
  limitMicros: number;
  mode: BudgetMode;
}

/** One period of a budget: `key` is `2026-11-23` (day) or `2026-11` (month). */
export interface PeriodWindow {
  key: string;
  startMs: number;
  endMs: number;
}

/**
 * A reservation held against one or more budgets until it is settled or released. A plain,
 * serialisable value; the budgets instance that made it (or any instance on the same Redis)
 * settles it. A call is charged to the period in which it was reserved.
 */
export interface BudgetReservation {
  readonly id: string;
  readonly micros: number;
  readonly entries: readonly { readonly budget: Budget; readonly window: PeriodWindow }[];
  /** After this instant the reservation no longer holds budget (the holder is presumed dead). */
  readonly expiresAt: number;
}

export interface ReserveInput {
  /** Every budget that applies to the call (tenant, group, user, key); duplicates are ignored. */
  budgets: readonly Budget[];
  /** The worst-case cost. Zero (a free or unpriced model) is never refused and reserves nothing. */
  micros: number;
}

export type ReserveResult =
  | { ok: true; reservation: BudgetReservation }
  | {
      ok: false;
      /** The first hard budget, in the order given, that the call could exceed. */
      budget: Budget;
      window: PeriodWindow;
      spentMicros: number;
      reservedMicros: number;
    };

/** Alert thresholds, in percent of the limit. */
export type AlertThreshold = 50 | 80 | 100;

export const ALERT_THRESHOLDS: readonly AlertThreshold[] = [50, 80, 100];

/**
 * A budget reached a threshold. Each threshold fires at most once per budget and period, across
 * all instances. 50 and 80 fire when settled spend reaches them; 100 fires when spend reaches the
 * limit or when a hard budget first refuses a call (`cause: 'blocked'`), whichever comes first — a
 * hard budget refuses on the worst case, so its spend may never reach 100 % itself.
 */
export interface BudgetAlert {
  budget: Budget;
  window: PeriodWindow;
  threshold: AlertThreshold;
  spentMicros: number;
  limitMicros: number;
  cause: 'spend' | 'blocked';
}

export interface BudgetStatus {
  window: PeriodWindow;
  spentMicros: number;
  /** Worst cases held by calls in flight. */
  reservedMicros: number;
}

/**
 * Spending caps, exact under concurrency: `reserve` checks every hard budget and holds the worst
 * case in one atomic step, so concurrent calls can never together pass a limit; `settle` swaps the
 * hold for the real cost. Refusals are values; a backend failure rejects.
 *
 * @example
 * const worst = worstCaseCost(prices, provider, model, { inputTokens, maxOutputTokens });
 * const r = await budgets.reserve({ budgets: applicable, micros: worst.micros });
 * if (!r.ok) return tooManyRequests(budgetExceededMessage(r.budget));
 * try {
 *   const result = await callUpstream();
 *   await budgets.settle(r.reservation, prices.costOf(provider, model, result.usage).micros);
 * } catch (error) {
 *   if (noTokenWasConsumed(error)) await budgets.release(r.reservation);
 *   else await budgets.settle(r.reservation, costSoFar);
 * }
 */
export interface Budgets {
  /** Answers at once (no promise) when the counters are in this process. */
  reserve(input: ReserveInput): Awaitable<ReserveResult>;
  /**
   * Replaces the hold with the real cost and fires any alerts. Idempotent while the reservation
   * could hold (until `expiresAt`): a repeat finds its hold gone. A settle after the hold lapsed
   * (the holder was presumed dead) still counts, once: its repeats are no-ops for the TTL after it.
   * A repeat of an in-time settle that comes after `expiresAt` counts again: no marker is kept for
   * in-time settles, which would be one per call.
   */
  settle(reservation: BudgetReservation, actualMicros: number): Awaitable<void>;
  /** Drops the hold: the call failed before any token was consumed. */
  release(reservation: BudgetReservation): Awaitable<void>;
  /** Current spend and holds of a budget in the period containing `at` (default now). */
  status(budget: Budget, at?: number): Promise<BudgetStatus>;
  close(): Promise<void>;
}

export interface BudgetsOptions {
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
  /**
   * How long a reservation holds budget if it is never settled (its process died). Default 10
   * minutes; keep it above the longest upstream call the gateway allows, or a call still running
   * when its hold lapses lets others spend the budget it was holding.
   */
  reservationTtlMs?: number;
  /** Called, without being awaited, for each threshold reached. Must not throw (errors go to `onAlertError`). */
  onAlert?: (alert: BudgetAlert) => void | Promise<void>;
  /** Where an `onAlert` failure goes; by default it is dropped. */
  onAlertError?: (error: unknown) => void;
}

export const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;

/** The message for a 429 that names the budget hit, in Keyhold's own words. */
export function budgetExceededMessage(budget: Budget): string {
  const period = budget.period === 'day' ? 'daily' : 'monthly';
  return `The ${period} budget '${budget.id}' of ${budget.scope.kind} '${budget.scope.id}' is exhausted`;
}
