// The benchmark tenant both runners provision through the admin API: limits and budgets so high
// that nothing is ever refused, yet every one of them checked and charged on each request.

/** The `POST /api/v1/tenants` body for the benchmark tenant with this credential. */
export function benchTenant(credential) {
  const huge = 1_000_000_000;
  return {
    name: 'Benchmark tenant',
    settings: {
      rate_limits: {
        requests_per_minute: huge,
        tokens_per_minute: huge,
        per_key: { requests_per_minute: huge, tokens_per_minute: huge },
      },
      budgets: [{ id: 'bench-daily', scope: 'tenant', period: 'day', limit_usd: 1e9, mode: 'hard' }],
      monthly_budget_usd: 1e9,
    },
    credential,
  };
}
