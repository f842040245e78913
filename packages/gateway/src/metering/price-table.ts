import type { Usage } from '@keyhold/core';
import { calcPrice, type ModelInfo, type ModelPrice, type Provider } from '@pydantic/genai-prices';
import { toCatalogueProvider } from './price-provider-ids.js';
import { dollarsToMicros } from './to-micros.js';

/**
 * An operator's price for one model (or, with `model: '*'`, every model of a provider), in US
 * dollars per million tokens — the unit providers publish. An override wins over the catalogue.
 */
export interface PriceOverride {
  /** Keyhold provider id (`openai`, `vllm`, …). */
  provider: string;
  /** The model name as sent upstream (case-insensitive), or `*` for every model of the provider. */
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  /** Price of input tokens read from the prompt cache; defaults to `inputPerMTok`. */
  cachedInputPerMTok?: number;
  /** Price of input tokens written to the prompt cache; defaults to `inputPerMTok`. */
  cacheWritePerMTok?: number;
}

/**
 * Per-token prices in micro-dollars per token. One micro-dollar per token is one US dollar per
 * million tokens, so these are numerically the published "$ / 1M tokens" figures.
 */
export interface TokenPrices {
  /** Input tokens neither read from nor written to the prompt cache. */
  input: number;
  output: number;
  /** Input tokens read from the prompt cache (equal to `input` where there is no discount). */
  cachedInput: number;
  /** Input tokens written to the prompt cache, where the provider charges for it (Anthropic, Bedrock). */
  cacheWrite?: number;
}

export type PriceSource = 'override' | 'catalogue';

export type PriceLookup =
  | {
      priced: true;
      source: PriceSource /** The catalogue's model id that matched. */;
      model: string;
      prices: TokenPrices;
    }
  | { priced: false };

/** The cost of one call. `priced: false` means no price is known: the cost is 0 and budgets never block it. */
export interface Cost {
  micros: number;
  priced: boolean;
  source?: PriceSource;
}

export interface PriceAt {
  /** When the call happened; some prices change on a date or by time of day. Default: now. */
  at?: Date;
}

export interface PriceOfOptions extends PriceAt {
  /**
   * Prompt size. Some models (Gemini Pro, Claude with a long context) charge every token of a
   * call at a higher rate once the prompt passes a threshold; this picks that tier. Default 0.
   */
  inputTokens?: number;
}

export interface PriceTable {
  /** Per-token prices of a model, or `{ priced: false }`. */
  priceOf(provider: string, model: string, options?: PriceOfOptions): PriceLookup;
  /** Cost of one call in integer micro-dollars, rounded up (see {@link dollarsToMicros}). */
  costOf(provider: string, model: string, usage: Usage, options?: PriceAt): Cost;
}

export interface CreatePriceTableOptions {
  overrides?: readonly PriceOverride[];
  /** Clock for date- and time-dependent prices. Default `() => new Date()`. */
  now?: () => Date;
}

interface Resolved {
  source: PriceSource;
  /** A catalogue provider holding only the matched model, so later lookups skip matching. */
  provider: Provider;
  modelId: string;
  /**
   * The model's price when it is one unconditional price over input, cached input, cache
   * writes and output only: then the cost is four multiplications, computed here. Anything else
   * (date or time-of-day prices, per-request or audio charges) goes through the catalogue's
   * `calcPrice`, which costs far more per call.
   */
  flat?: ModelPrice;
}

/** Lookups are cached per (provider, model); the cache is dropped when it grows past this. */
const MAX_CACHED_LOOKUPS = 10_000;

/**
 * The price table: the `@pydantic/genai-prices` catalogue (bundled data, no network at run time)
 * plus operator overrides. Unknown models are unpriced (cost 0, `priced: false`).
 *
 * @example
 * const prices = createPriceTable({
 *   overrides: [{ provider: 'vllm', model: '*', inputPerMTok: 0.1, outputPerMTok: 0.1 }],
 * });
 * prices.costOf('openai', 'gpt-4o', { inputTokens: 1000, outputTokens: 100, totalTokens: 1100 });
 * // { micros: 3500, priced: true, source: 'catalogue' }
 */
export function createPriceTable(options: CreatePriceTableOptions = {}): PriceTable {
  const overrides = indexOverrides(options.overrides ?? []);
  const now = options.now ?? (() => new Date());
  // Provider → model → lookup: two lookups with the caller's strings, where one key built per
  // call (`provider + model`) was a string to allocate and hash three times per budgeted request.
  const cache = new Map<string, Map<string, Resolved | null>>();
  let cached = 0;

  function resolve(provider: string, model: string): Resolved | null {
    let models = cache.get(provider);
    const hit = models?.get(model);
    if (hit !== undefined) return hit;
    const found = findOverride(overrides, provider, model) ?? findInCatalogue(provider, model);
    if (cached >= MAX_CACHED_LOOKUPS) {
      cache.clear();
      cached = 0;
      models = undefined;
    }
    if (models === undefined) {
      models = new Map();
      cache.set(provider, models);
    }
    models.set(model, found);
    cached++;
    return found;
  }

  return {
    priceOf(provider, model, opts = {}) {
      const resolved = resolve(provider, model);
      if (!resolved) return { priced: false };
      // A flat price holds at any time: no catalogue call (its matching and a Date, ~20 µs), which
      // every budgeted request would pay through worstCaseCost.
      if (resolved.flat) {
        return {
          priced: true,
          source: resolved.source,
          model: resolved.modelId,
          prices: toTokenPrices(resolved.flat, count(opts.inputTokens)),
        };
      }
      const result = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, {
        provider: resolved.provider,
        timestamp: opts.at ?? now(),
      });
      if (!result) return { priced: false };
      return {
        priced: true,
        source: resolved.source,
        model: resolved.modelId,
        prices: toTokenPrices(result.model_price, count(opts.inputTokens)),
      };
    },

    costOf(provider, model, usage, opts = {}) {
      const resolved = resolve(provider, model);
      if (!resolved) return { micros: 0, priced: false };
      if (resolved.flat) {
        return {
          micros: dollarsToMicros(flatCost(resolved.flat, usage)),
          priced: true,
          source: resolved.source,
        };
      }
      const result = calcPrice(toCatalogueUsage(usage), model, {
        provider: resolved.provider,
        timestamp: opts.at ?? now(),
      });
      if (!result) return { micros: 0, priced: false };
      return { micros: dollarsToMicros(result.total_price), priced: true, source: resolved.source };
    },
  };
}

function findInCatalogue(provider: string, model: string): Resolved | null {
  const providerId = toCatalogueProvider(provider);
  if (providerId === undefined) return null;
  const match = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId });
  if (!match) return null;
  // The matched model may come from a fallback provider (Azure → OpenAI); pin it.
  const { fallback_model_providers: _fallbacks, ...rest } = match.provider;
  return {
    source: 'catalogue',
    provider: { ...rest, models: [match.model] },
    modelId: match.model.id,
    ...flatPriceOf(match.model),
  };
}

/**
 * A price is flat when it is unconditional and charges nothing per request. Other unit prices
 * (audio tokens, web searches, …) apply to usage Keyhold never reports, so they add nothing here
 * either way; `requests_kcount` would apply to every call, so such models take the slow path.
 */
function flatPriceOf(model: ModelInfo): { flat?: ModelPrice } {
  const prices = model.prices;
  if (Array.isArray(prices) || prices.requests_kcount !== undefined) return {};
  return { flat: prices };
}

/**
 * The catalogue's own arithmetic for a flat price: uncached input, cache reads and cache writes
 * at their rates (a missing cache rate is the input rate), plus output; tiers by prompt size.
 */
function flatCost(price: ModelPrice, usage: Usage): number {
  const u = toCatalogueUsage(usage);
  const inputTokens = u.input_tokens!;
  const read = u.cache_read_tokens!;
  const write = u.cache_write_tokens!;
  const input = tierPrice(price.input_mtok, inputTokens) ?? 0;
  const cost =
    (inputTokens - read - write) * input +
    read * (tierPrice(price.cache_read_mtok, inputTokens) ?? input) +
    write * (tierPrice(price.cache_write_mtok, inputTokens) ?? input) +
    u.output_tokens! * (tierPrice(price.output_mtok, inputTokens) ?? 0);
  return cost / 1_000_000;
}

type OverrideIndex = Map<string, Map<string, PriceOverride>>;

function indexOverrides(list: readonly PriceOverride[]): OverrideIndex {
  const index: OverrideIndex = new Map();
  for (const o of list) {
    for (const field of [
      'inputPerMTok',
      'outputPerMTok',
      'cachedInputPerMTok',
      'cacheWritePerMTok',
    ] as const) {
      const value = o[field];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(
          `Price override for ${o.provider}/${o.model}: ${field} must be a non-negative number`,
        );
      }
    }
    if (!o.provider || !o.model) throw new RangeError('Price override: provider and model are required');
    const byModel = index.get(o.provider) ?? new Map<string, PriceOverride>();
    byModel.set(o.model.toLowerCase(), o);
    index.set(o.provider, byModel);
  }
  return index;
}

function findOverride(index: OverrideIndex, provider: string, model: string): Resolved | null {
  const byModel = index.get(provider);
  const o = byModel?.get(model.toLowerCase()) ?? byModel?.get('*');
  if (!o) return null;
  const prices: ModelPrice = { input_mtok: o.inputPerMTok, output_mtok: o.outputPerMTok };
  if (o.cachedInputPerMTok !== undefined) prices.cache_read_mtok = o.cachedInputPerMTok;
  if (o.cacheWritePerMTok !== undefined) prices.cache_write_mtok = o.cacheWritePerMTok;
  const info: ModelInfo = { id: model, match: { equals: model }, prices };
  return {
    source: 'override',
    provider: {
      id: `keyhold-override-${provider}`,
      name: 'Operator price override',
      api_pattern: '(?!)',
      models: [info],
    },
    modelId: model,
    flat: prices,
  };
}

/**
 * Keyhold's usage → the catalogue's usage keys. Both count the whole prompt as input, cache reads
 * and writes included (core's `Usage` documents `inputTokens` that way; the catalogue's README
 * says "`input_tokens` … includes uncached tokens, cache-read tokens, and cache-write tokens").
 * Reasoning tokens are already part of the output. Counts are clamped so the cache parts never
 * exceed the whole, which the catalogue would reject.
 */
function toCatalogueUsage(usage: Usage): Record<string, number> {
  const input = count(usage.inputTokens);
  const read = Math.min(count(usage.cachedInputTokens), input);
  const write = Math.min(count(usage.cacheWriteInputTokens), input - read);
  return {
    input_tokens: input,
    cache_read_tokens: read,
    cache_write_tokens: write,
    output_tokens: count(usage.outputTokens),
  };
}

function count(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function toTokenPrices(price: ModelPrice, inputTokens: number): TokenPrices {
  const input = tierPrice(price.input_mtok, inputTokens) ?? 0;
  const cacheWrite = tierPrice(price.cache_write_mtok, inputTokens);
  return {
    input,
    output: tierPrice(price.output_mtok, inputTokens) ?? 0,
    cachedInput: tierPrice(price.cache_read_mtok, inputTokens) ?? input,
    ...(cacheWrite !== undefined ? { cacheWrite } : {}),
  };
}

/**
 * A tiered price applies the rate of the highest tier whose `start` the prompt size exceeds, to
 * every token of the call — the catalogue's own rule, mirrored here so `priceOf` agrees with
 * `costOf`.
 */
function tierPrice(value: ModelPrice[string], inputTokens: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  let rate = value.base;
  for (const tier of [...value.tiers].sort((a, b) => a.start - b.start)) {
    if (inputTokens > tier.start) rate = tier.price;
  }
  return rate;
}
