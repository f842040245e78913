import type { Cost, PriceAt, PriceTable } from './price-table.js';

export interface WorstCaseInput extends PriceAt {
  /**
   * The prompt size, counted or estimated by the caller. It must not under-count: an estimate
   * that is too low lets concurrent calls overshoot a budget by the difference.
   */
  inputTokens: number;
  /** The most output the call may produce: the request's max tokens, else the model's limit. */
  maxOutputTokens: number;
}

/**
 * The most a call can cost, for a budget reservation: every input token at the dearest input rate
 * the model has (a cache write costs more than plain input on Anthropic and Bedrock) and the full
 * output allowance. Priced through {@link PriceTable.costOf}, so tiers, per-request fees and
 * rounding are the same as for the real cost.
 *
 * @example
 * const worst = worstCaseCost(prices, 'openai', 'gpt-4o', { inputTokens: 1200, maxOutputTokens: 4096 });
 * if (worst.priced) await budgets.reserve({ budgets, micros: worst.micros });
 */
export function worstCaseCost(
  table: PriceTable,
  provider: string,
  model: string,
  input: WorstCaseInput,
): Cost {
  const inputTokens = Math.max(0, Math.ceil(input.inputTokens));
  const outputTokens = Math.max(0, Math.ceil(input.maxOutputTokens));
  const at = input.at ? { at: input.at } : {};
  const lookup = table.priceOf(provider, model, { inputTokens, ...at });
  if (!lookup.priced) return { micros: 0, priced: false };
  const writeIsDearer = (lookup.prices.cacheWrite ?? 0) > lookup.prices.input;
  return table.costOf(
    provider,
    model,
    {
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens,
      ...(writeIsDearer ? { cacheWriteInputTokens: inputTokens } : {}),
    },
    at,
  );
}
