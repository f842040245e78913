import { randomUUID } from 'node:crypto';
import { periodWindow } from './budget-period.js';
import type { Budget, BudgetReservation, PeriodWindow, ReserveInput } from './budgets.js';

/**
 * The reservation a `reserve` call would make: the distinct budgets with their current period,
 * the cost as whole micro-dollars. A call with nothing to reserve gets an empty one (never
 * refused; settling it does nothing).
 */
export function prepareReservation(
  input: ReserveInput,
  at: number,
  ttlMs: number,
  id: string = randomUUID(),
): BudgetReservation {
  const micros = Number.isFinite(input.micros) && input.micros > 0 ? Math.ceil(input.micros) : 0;
  const entries: { budget: Budget; window: PeriodWindow }[] = [];
  if (micros > 0) {
    // A caller has a handful of budgets: a scan finds duplicates cheaper than a Set per call.
    for (const budget of input.budgets) {
      if (entries.some((e) => e.budget.id === budget.id)) continue;
      if (!Number.isSafeInteger(budget.limitMicros) || budget.limitMicros < 0) {
        throw new RangeError(`Budget '${budget.id}': limitMicros must be a non-negative integer`);
      }
      entries.push({ budget, window: periodWindow(budget.period, at) });
    }
  }
  return { id, micros, entries, expiresAt: at + ttlMs };
}

/** Settled cost as whole micro-dollars. */
export function toActualMicros(actual: number): number {
  return Number.isFinite(actual) && actual > 0 ? Math.ceil(actual) : 0;
}
