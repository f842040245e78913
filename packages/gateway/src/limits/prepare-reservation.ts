import { randomUUID } from 'node:crypto';
import { periodWindow } from './budget-period.js';
import type { Budget, BudgetReservation, ReserveInput } from './budgets.js';

/**
 * The reservation a `reserve` call would make: the distinct budgets with their current period,
 * the cost as whole micro-dollars. A call with nothing to reserve gets an empty one (never
 * refused; settling it does nothing).
 */
export function prepareReservation(input: ReserveInput, at: number, ttlMs: number): BudgetReservation {
  const micros = Number.isFinite(input.micros) && input.micros > 0 ? Math.ceil(input.micros) : 0;
  const seen = new Set<string>();
  const budgets: Budget[] = [];
  if (micros > 0) {
    for (const b of input.budgets) {
      if (seen.has(b.id)) continue;
      if (!Number.isSafeInteger(b.limitMicros) || b.limitMicros < 0) {
        throw new RangeError(`Budget '${b.id}': limitMicros must be a non-negative integer`);
      }
      seen.add(b.id);
      budgets.push(b);
    }
  }
  return {
    id: randomUUID(),
    micros,
    entries: budgets.map((budget) => ({ budget, window: periodWindow(budget.period, at) })),
    expiresAt: at + ttlMs,
  };
}

/** Settled cost as whole micro-dollars. */
export function toActualMicros(actual: number): number {
  return Number.isFinite(actual) && actual > 0 ? Math.ceil(actual) : 0;
}
