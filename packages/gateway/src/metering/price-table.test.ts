import { PROVIDERS } from '@keyhold/core';
import { describe, expect, it } from 'vitest';
import { toCatalogueProvider, UNPRICED_PROVIDERS } from './price-provider-ids.js';
import { createPriceTable } from './price-table.js';
import { dollarsToMicros } from './to-micros.js';

const usage = (inputTokens: number, outputTokens: number, extra: Record<string, number> = {}) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
  ...extra,
});

describe('dollarsToMicros', () => {
  it('absorbs float noise and rounds up to the next micro-dollar', () => {
    expect(dollarsToMicros(0.0032500000000000003)).toBe(3250);
    expect(dollarsToMicros(0.0000001)).toBe(1);
    expect(dollarsToMicros(0.0000015)).toBe(2);
    expect(dollarsToMicros(1.000001)).toBe(1_000_001);
    expect(dollarsToMicros(0)).toBe(0);
    expect(dollarsToMicros(Number.NaN)).toBe(0);
  });
});

describe('price table: catalogue', () => {
  const prices = createPriceTable({ now: () => new Date('2026-11-01T12:00:00Z') });

  it('maps every catalogue provider id, or lists it as deliberately unpriced', () => {
    for (const p of PROVIDERS) {
      const mapped = toCatalogueProvider(p.id) !== undefined;
      expect(mapped || UNPRICED_PROVIDERS.includes(p.id), p.id).toBe(true);
    }
  });

  it('gives per-token prices in micro-dollars (= $ per million tokens), pinned to catalogue 0.1.8', () => {
    // OpenAI's published gpt-4o price: $2.50 in, $1.25 cached in, $10 out per million tokens.
    expect(prices.priceOf('openai', 'gpt-4o')).toEqual({
      priced: true,
      source: 'catalogue',
      model: 'gpt-4o',
      prices: { input: 2.5, output: 10, cachedInput: 1.25 },
    });
    const haiku = prices.priceOf('anthropic', 'claude-3-5-haiku-latest');
    expect(haiku).toMatchObject({
      priced: true,
      prices: { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
    });
  });

  it('costs input, cached input and output separately; cached tokens are part of inputTokens', () => {
    // 1000 input of which 400 cached, 100 output (incl. 30 reasoning):
    // 600 × 2.5 + 400 × 1.25 + 100 × 10 = 1500 + 500 + 1000 = 3000 µ$
    const cost = prices.costOf(
      'openai',
      'gpt-4o',
      usage(1000, 100, { cachedInputTokens: 400, reasoningTokens: 30 }),
    );
    expect(cost).toEqual({ micros: 3000, priced: true, source: 'catalogue' });
    // Without the cache: 1000 × 2.5 + 100 × 10 = 3500
    expect(prices.costOf('openai', 'gpt-4o', usage(1000, 100)).micros).toBe(3500);
  });

  it('charges cache writes at the provider’s write rate (Anthropic)', () => {
    const p = prices.priceOf('anthropic', 'claude-3-5-haiku-latest');
    if (!p.priced || p.prices.cacheWrite === undefined) throw new Error('expected a cache-write price');
    // 5000 input = 1000 uncached + 3000 read + 1000 written; 200 output.
    const expected =
      1000 * p.prices.input +
      3000 * p.prices.cachedInput +
      1000 * p.prices.cacheWrite +
      200 * p.prices.output;
    const cost = prices.costOf(
      'anthropic',
      'claude-3-5-haiku-latest',
      usage(5000, 200, { cachedInputTokens: 3000, cacheWriteInputTokens: 1000 }),
    );
    expect(cost.micros).toBe(Math.ceil(Math.round(expected * 1000) / 1000));
    expect(cost.micros).toBe(2840); // 800 + 240 + 1000 + 800 (catalogue 0.1.8)
  });

  it('maps Keyhold provider ids to the catalogue’s (gemini → google, bedrock → aws, xai → x-ai)', () => {
    expect(prices.priceOf('gemini', 'gemini-2.5-flash').priced).toBe(true);
    expect(prices.priceOf('bedrock', 'anthropic.claude-3-5-sonnet-20240620-v1:0').priced).toBe(true);
    expect(prices.priceOf('xai', 'grok-4').priced).toBe(true);
    expect(prices.priceOf('azure', 'gpt-4o').priced).toBe(true);
  });

  it('applies long-context tiers to every token once the prompt passes the threshold', () => {
    const small = prices.priceOf('gemini', 'gemini-2.5-pro', { inputTokens: 1000 });
    const large = prices.priceOf('gemini', 'gemini-2.5-pro', { inputTokens: 300_000 });
    if (!small.priced || !large.priced) throw new Error('expected prices');
    expect(large.prices.input).toBeGreaterThan(small.prices.input);
    const cost = prices.costOf('gemini', 'gemini-2.5-pro', usage(300_000, 1000));
    expect(cost.micros).toBe(Math.ceil(300_000 * large.prices.input + 1000 * large.prices.output));
  });

  it('leaves unknown models and self-hosted providers unpriced: cost 0, priced false', () => {
    expect(prices.priceOf('openai', 'no-such-model-xyz')).toEqual({ priced: false });
    expect(prices.costOf('openai', 'no-such-model-xyz', usage(1000, 1000))).toEqual({
      micros: 0,
      priced: false,
    });
    expect(prices.costOf('vllm', 'gpt-4o', usage(1000, 1000))).toEqual({ micros: 0, priced: false });
    expect(prices.costOf('made-up-provider', 'gpt-4o', usage(1000, 1000))).toEqual({
      micros: 0,
      priced: false,
    });
  });

  it('clamps inconsistent usage instead of failing (cache parts larger than the prompt)', () => {
    const cost = prices.costOf('openai', 'gpt-4o', usage(100, 0, { cachedInputTokens: 500 }));
    expect(cost.micros).toBe(125); // all 100 tokens at the cached rate
  });
});

describe('price table: operator overrides', () => {
  const prices = createPriceTable({
    overrides: [
      { provider: 'openai', model: 'gpt-4o', inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 },
      { provider: 'vllm', model: '*', inputPerMTok: 0.1, outputPerMTok: 0.3 },
      { provider: 'ollama', model: 'llama3', inputPerMTok: 0, outputPerMTok: 0 },
      {
        provider: 'anthropic',
        model: 'claude-house',
        inputPerMTok: 3,
        outputPerMTok: 15,
        cachedInputPerMTok: 0.3,
        cacheWritePerMTok: 3.75,
      },
    ],
  });

  it('win over the catalogue', () => {
    expect(prices.priceOf('openai', 'gpt-4o')).toEqual({
      priced: true,
      source: 'override',
      model: 'gpt-4o',
      prices: { input: 1, output: 2, cachedInput: 0.5 },
    });
    // 600 × 1 + 400 × 0.5 + 100 × 2 = 1000
    expect(prices.costOf('openai', 'GPT-4o', usage(1000, 100, { cachedInputTokens: 400 }))).toEqual({
      micros: 1000,
      priced: true,
      source: 'override',
    });
  });

  it('price every model of a provider with *, and fractional costs round up', () => {
    // 7 × 0.1 + 3 × 0.3 = 1.6 µ$ → 2
    expect(prices.costOf('vllm', 'any-model', usage(7, 3))).toEqual({
      micros: 2,
      priced: true,
      source: 'override',
    });
  });

  it('cached and cache-write tokens fall back to the input price when the override has none', () => {
    expect(prices.costOf('vllm', 'm', usage(1000, 0, { cachedInputTokens: 1000 })).micros).toBe(100);
  });

  it('charge cache writes when the override prices them', () => {
    // 1000 input: 500 read (0.3), 500 written (3.75); 0 output → 150 + 1875
    expect(
      prices.costOf(
        'anthropic',
        'claude-house',
        usage(1000, 0, { cachedInputTokens: 500, cacheWriteInputTokens: 500 }),
      ).micros,
    ).toBe(2025);
  });

  it('a zero-price override is priced (at 0), which is not the same as unknown', () => {
    expect(prices.costOf('ollama', 'llama3', usage(1000, 1000))).toEqual({
      micros: 0,
      priced: true,
      source: 'override',
    });
  });

  it('reject negative or non-numeric prices at start-up', () => {
    expect(() =>
      createPriceTable({ overrides: [{ provider: 'x', model: 'y', inputPerMTok: -1, outputPerMTok: 0 }] }),
    ).toThrow(/inputPerMTok must be a non-negative number/);
  });
});

describe('flat-price fast path', () => {
  it('agrees with the catalogue’s calcPrice for every flat-priced model of the main providers', async () => {
    const { calcPrice, findProvider } = await import('@pydantic/genai-prices');
    const table = createPriceTable();
    const usages = [
      { inputTokens: 1234, outputTokens: 567, totalTokens: 1801 },
      { inputTokens: 250_000, outputTokens: 10, totalTokens: 250_010, cachedInputTokens: 200_000 },
      {
        inputTokens: 9000,
        outputTokens: 900,
        totalTokens: 9900,
        cachedInputTokens: 1000,
        cacheWriteInputTokens: 3000,
      },
    ];
    let compared = 0;
    for (const [ours, theirs] of [
      ['openai', 'openai'],
      ['anthropic', 'anthropic'],
      ['gemini', 'google'],
      ['mistral', 'mistral'],
      ['deepseek', 'deepseek'],
    ] as const) {
      const provider = findProvider({ providerId: theirs });
      for (const model of provider?.models ?? []) {
        if (Array.isArray(model.prices)) continue;
        for (const usage of usages) {
          const expected = calcPrice(
            {
              input_tokens: usage.inputTokens,
              output_tokens: usage.outputTokens,
              cache_read_tokens: usage.cachedInputTokens ?? 0,
              cache_write_tokens: usage.cacheWriteInputTokens ?? 0,
            },
            model.id,
            { providerId: theirs },
          );
          if (!expected) continue;
          const cost = table.costOf(ours, model.id, usage);
          expect(cost.priced).toBe(true);
          expect(Math.abs(cost.micros - expected.total_price * 1_000_000)).toBeLessThanOrEqual(1);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
