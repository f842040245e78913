/**
 * Converts a cost in US dollars (a binary float, as the price catalogue computes it) to integer
 * micro-dollars, rounding UP.
 *
 * Rounding rule: the amount is first rounded to the nearest nano-dollar (1/1000 of a micro-dollar)
 * to remove binary floating-point noise — `1000 * 2.5e-6 + 100 * 1e-5` comes out as
 * `0.0032500000000000003`, which must be 3 250 micro-dollars and not 3 251 — and then rounded up
 * to the next whole micro-dollar. So an event never costs less than the provider charged, any call
 * that costs anything costs at least 1 micro-dollar, and a ledger of n events over-counts by less
 * than n micro-dollars in total.
 *
 * @example dollarsToMicros(0.0032500000000000003) // 3250
 */
export function dollarsToMicros(dollars: number): number {
  if (!Number.isFinite(dollars) || dollars <= 0) return 0;
  const nanos = Math.round(dollars * 1e9);
  return Math.ceil(nanos / 1000);
}
