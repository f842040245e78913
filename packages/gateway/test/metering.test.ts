import Anthropic from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { createLimits, createPriceTable, type GatewayConfig, type UsageEvent } from '../src/index.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { openAIServerError, openAIWire } from './support/metered-upstream.js';

/*
 * Usage events reconcile exactly with what the local upstream reported, streamed or not; a
 * stream that ends without the provider's usage (client abort, upstream cut) still records what
 * was consumed, counted by the tokenizer and marked estimated; failures are events too; the
 * budget settles with exactly the events' cost.
 */

const OVERRIDES = [
  // 2 $ / 1M input, 1 $ / 1M cached input, 4 $ / 1M output: whole micro-dollars per token.
  { provider: 'openai', model: 'metered-model', inputPerMTok: 2, cachedInputPerMTok: 1, outputPerMTok: 4 },
];
const prices = createPriceTable({ overrides: OVERRIDES });
const MODEL = 'openai/metered-model';
const PIECES = Array.from({ length: 40 }, (_, i) => ` word${i}`);

let upstream: Upstream;
let h: Harness;
const key = virtualKey('k-meter', { userId: 'u1' });
const limits = createLimits();
const BUDGET = {
  id: 'm-tenant/monthly',
  scope: { kind: 'tenant' as const, id: 'm-tenant' },
  period: 'month' as const,
  limitMicros: 1_000_000,
  mode: 'hard' as const,
};

beforeAll(async () => {
  upstream = await startUpstream(openAIWire({ usage: { prompt: 1, completion: 1 } }));
  const config: GatewayConfig = {
    pricing: { overrides: OVERRIDES },
    tenants: [
      {
        id: 'm-tenant',
        users: [{ id: 'u1' }],
        settings: {
          limits: { tokensPerMinute: 1_000_000 },
          budgets: [{ id: 'monthly', scope: 'tenant', period: 'month', limitUsd: 1, mode: 'hard' }],
        },
        credentials: [
          {
            id: 'm-cred',
            provider: 'openai',
            secrets: { apiKey: 'sk-meter-test-0000000' },
            fields: { baseURL: `${upstream.url}/v1` },
          },
        ],
        virtualKeys: [key.entry],
      },
    ],
  };
  h = await startGateway(config, { limits });
});
afterAll(async () => {
  await h.close();
  await upstream.close();
  await limits.close();
});

const openai = () => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key.key, maxRetries: 0 });
const last = async (count: number): Promise<UsageEvent> => (await h.sink.waitFor(count)).at(-1)!;

describe('usage events reconcile with the upstream', () => {
  it('non-streamed: tokens, cached and reasoning tokens, cost in micro-dollars', async () => {
    upstream.handle(openAIWire({ usage: { prompt: 31, completion: 7, cached: 10, reasoning: 3 } }));
    const n = h.usage.length;
    const { response } = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 64 })
      .withResponse();
    const event = await last(n + 1);
    expect(event).toMatchObject({
      requestId: response.headers.get('x-request-id'),
      attempt: 0,
      tenantId: 'm-tenant',
      userId: 'u1',
      virtualKeyId: 'k-meter',
      credentialId: 'm-cred',
      keySource: 'tenant',
      provider: 'openai',
      model: 'metered-model',
      operation: 'chat',
      inputTokens: 31,
      outputTokens: 7,
      cachedInputTokens: 10,
      reasoningTokens: 3,
      // 21 uncached × 2 + 10 cached × 1 + 7 output × 4
      costMicros: 80,
      priced: true,
      estimated: false,
      status: 'ok',
    });
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('1000000');
  });

  it('streamed with the provider’s final usage (OpenAI and Anthropic surfaces)', async () => {
    upstream.handle(openAIWire({ usage: { prompt: 12, completion: 40 }, pieces: PIECES }));
    const n = h.usage.length;
    const stream = await openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Count' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage?.total_tokens).toBe(52);
    expect(await last(n + 1)).toMatchObject({
      inputTokens: 12,
      outputTokens: 40,
      costMicros: 12 * 2 + 40 * 4,
      estimated: false,
      status: 'ok',
    });

    const anthropic = new Anthropic({ baseURL: h.url, apiKey: key.key, maxRetries: 0 });
    const events = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'Count' }],
    });
    for await (const _ of events) {
      // drain
    }
    expect(await last(n + 2)).toMatchObject({
      inputTokens: 12,
      outputTokens: 40,
      costMicros: 184,
      estimated: false,
    });
  });

  it('embeddings', async () => {
    upstream.handle(openAIWire({ usage: { prompt: 6, completion: 0 } }));
    const n = h.usage.length;
    await openai().embeddings.create({ model: MODEL, input: ['a', 'b'] });
    expect(await last(n + 1)).toMatchObject({
      operation: 'embedding',
      inputTokens: 6,
      outputTokens: 0,
      costMicros: 12,
    });
  });

  it('a stream aborted by the client records the prompt and the output sent so far, estimated', async () => {
    upstream.handle(openAIWire({ usage: { prompt: 99, completion: 99 }, pieces: PIECES, chunkDelayMs: 15 }));
    const n = h.usage.length;
    const controller = new AbortController();
    const prompt = 'Please count slowly';
    const stream = await openai().chat.completions.create(
      {
        model: MODEL,
        messages: [{ role: 'user', content: prompt }],
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal: controller.signal },
    );
    let received = 0;
    await (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 5) controller.abort();
      }
    })().catch(() => {});
    const event = await last(n + 1);
    expect(event).toMatchObject({ estimated: true, status: 'error', errorClass: 'aborted' });
    // The prompt, counted: its text and the 4-token message overhead.
    expect(event.inputTokens).toBe(countTokens(prompt) + 4);
    // At least what the client read, at most what the upstream sent (each piece is ≥ 1 token).
    expect(event.outputTokens).toBeGreaterThanOrEqual(countTokens(PIECES.slice(0, 5).join('')));
    expect(event.outputTokens).toBeLessThan(countTokens(PIECES.join('')));
    expect(event.costMicros).toBe(event.inputTokens * 2 + event.outputTokens * 4);
  });

  it('a stream cut by the upstream records what was consumed, estimated, with the error class', async () => {
    // role chunk + 10 text pieces, then the connection is destroyed.
    upstream.handle(openAIWire({ usage: { prompt: 99, completion: 99 }, pieces: PIECES, cutAfter: 11 }));
    const n = h.usage.length;
    const stream = await openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Go' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const failure = await (async () => {
      for await (const _ of stream) {
        // read until the in-stream error
      }
    })().catch((e: unknown) => e);
    expect(failure).toBeDefined();
    const event = await last(n + 1);
    expect(event).toMatchObject({
      estimated: true,
      status: 'error',
      errorClass: 'provider_unavailable',
      outputTokens: countTokens(PIECES.slice(0, 10).join('')),
      inputTokens: countTokens('Go') + 4,
    });
  });

  it('a failed call is an event with no tokens and releases its budget hold', async () => {
    upstream.handle(openAIServerError);
    const n = h.usage.length;
    const error = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(await last(n + 1)).toMatchObject({
      status: 'error',
      errorClass: 'provider_unavailable',
      upstreamStatus: 500,
      inputTokens: 0,
      outputTokens: 0,
      costMicros: 0,
      estimated: false,
    });
  });

  it('the budget holds exactly the sum of the events’ cost once settled, nothing reserved', async () => {
    const deadline = Date.now() + 2_000;
    let status = await limits.budgets.status(BUDGET);
    while (status.reservedMicros > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      status = await limits.budgets.status(BUDGET);
    }
    const total = h.usage.reduce((sum, e) => sum + e.costMicros, 0);
    expect(total).toBeGreaterThan(0);
    expect(status).toMatchObject({ reservedMicros: 0, spentMicros: total });
    // Every event's cost is what the price table says for its own token counts.
    for (const e of h.usage) {
      expect(e.costMicros).toBe(
        prices.costOf(e.provider, e.model, { ...e, totalTokens: e.inputTokens + e.outputTokens }).micros,
      );
    }
    // One event per request and attempt.
    expect(new Set(h.usage.map((e) => `${e.requestId}:${e.attempt}`)).size).toBe(h.usage.length);
  });
});
