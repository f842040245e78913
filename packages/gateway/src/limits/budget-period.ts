import type { BudgetPeriod, PeriodWindow } from './budgets.js';

/** The UTC day or month containing `atMs`. */
export function periodWindow(period: BudgetPeriod, atMs: number): PeriodWindow {
  const d = new Date(atMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    const startMs = Date.UTC(y, m, d.getUTCDate());
    return { key: new Date(startMs).toISOString().slice(0, 10), startMs, endMs: startMs + 86_400_000 };
  }
  const startMs = Date.UTC(y, m, 1);
  return { key: new Date(startMs).toISOString().slice(0, 7), startMs, endMs: Date.UTC(y, m + 1, 1) };
}
