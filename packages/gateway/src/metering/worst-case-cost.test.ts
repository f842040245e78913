import { describe, expect, it } from 'vitest';
import { createPriceTable } from './price-table.js';
import { worstCaseCost } from './worst-case-cost.js';

describe('worstCaseCost', () => {
  const prices = createPriceTable({
    overrides: [
      { provider: 'openai', model: 'm', inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 1 },
      { provider: 'anthropic', model: 'c', inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75 },
      { provider: 'ollama', model: 'free', inputPerMTok: 0, outputPerMTok: 0 },
    ],
  });

  it('prices all input uncached and the full output allowance', () => {
    expect(worstCaseCost(prices, 'openai', 'm', { inputTokens: 1000, maxOutputTokens: 500 })).toEqual({
      micros: 1000 * 2 + 500 * 8,
      priced: true,
      source: 'override',
    });
  });

  it('uses the cache-write rate when it is dearer than plain input', () => {
    expect(worstCaseCost(prices, 'anthropic', 'c', { inputTokens: 1000, maxOutputTokens: 100 }).micros).toBe(
      3750 + 1500,
    );
  });

  it('is never below the real cost of any usage within the limits', () => {
    const worst = worstCaseCost(prices, 'anthropic', 'c', { inputTokens: 1000, maxOutputTokens: 100 });
    for (const u of [
      { inputTokens: 1000, outputTokens: 100, totalTokens: 1100 },
      { inputTokens: 1000, outputTokens: 100, totalTokens: 1100, cacheWriteInputTokens: 1000 },
      {
        inputTokens: 1000,
        outputTokens: 100,
        totalTokens: 1100,
        cachedInputTokens: 600,
        cacheWriteInputTokens: 400,
      },
    ]) {
      expect(prices.costOf('anthropic', 'c', u).micros).toBeLessThanOrEqual(worst.micros);
    }
  });

  it('is 0 and unpriced for unknown models, 0 and priced for free ones', () => {
    expect(worstCaseCost(prices, 'vllm', 'x', { inputTokens: 10, maxOutputTokens: 10 })).toEqual({
      micros: 0,
      priced: false,
    });
    expect(worstCaseCost(prices, 'ollama', 'free', { inputTokens: 10, maxOutputTokens: 10 })).toMatchObject({
      micros: 0,
      priced: true,
    });
  });

  it('works on catalogue models', () => {
    const worst = worstCaseCost(prices, 'openai', 'gpt-4o', { inputTokens: 1000, maxOutputTokens: 1000 });
    expect(worst).toEqual({ micros: 2500 + 10_000, priced: true, source: 'catalogue' });
  });
});
