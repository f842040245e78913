import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import type { GatewayConfig } from '../src/index.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { openAIWire } from './support/metered-upstream.js';

/*
 * Rate limits on the request path, in-process (memory backend): the (N+1)th request of a minute is
 * refused with 429, Retry-After and OpenAI's x-ratelimit-* headers, in the client's own error
 * format; other tenants are untouched. A limits backend that is down is a 503, never a free pass.
 */

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream(openAIWire({ usage: { prompt: 9, completion: 2 } }));
});
afterAll(() => upstream.close());

const MODEL = 'openai/gpt-4o-mini';
const tenant = (id: string, key: ReturnType<typeof virtualKey>, settings: Record<string, unknown> = {}) => ({
  id,
  settings,
  credentials: [
    {
      id: `${id}-openai`,
      provider: 'openai',
      secrets: { apiKey: `sk-${id}-0000000000` },
      fields: { baseURL: `${upstream.url}/v1` },
    },
  ],
  virtualKeys: [key.entry],
});

describe('requests per minute', () => {
  let h: Harness;
  const limited = virtualKey('k-limited');
  const other = virtualKey('k-other');
  const anth = virtualKey('k-anth');
  const keyed = virtualKey('k-keyed', { limits: { requestsPerMinute: 1 } });
  beforeAll(async () => {
    const config: GatewayConfig = {
      tenants: [
        tenant('limited', limited, { limits: { requestsPerMinute: 3, tokensPerMinute: 100_000 } }),
        tenant('other', other, { limits: { requestsPerMinute: 3 } }),
        tenant('anth', anth, { limits: { requestsPerMinute: 2 } }),
        tenant('keyed', keyed),
      ],
    };
    h = await startGateway(config);
  });
  afterAll(() => h.close());

  it('OpenAI surface: 3 pass with x-ratelimit-* headers, the 4th is a 429 with Retry-After; another tenant is unaffected', async () => {
    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: limited.key, maxRetries: 0 });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await openai.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 })
        .withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
      expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(
        /^\d+(\.\d+)?m?s$|^\d+m\d+(\.\d+)?s$/,
      );
      remaining.push(response.headers.get('x-ratelimit-remaining-requests')!);
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const refused = await openai.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.type).toBe('rate_limit_error');
    expect(error.message).toContain("tenant 'limited'");
    const retryAfter = Number(error.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(error.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(error.headers.get('x-request-id')).toBeTruthy();

    const neighbour = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: other.key, maxRetries: 0 });
    const ok = await neighbour.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(ok.choices[0]?.message.content).toBe('Hello there');
  });

  it('Anthropic surface: the 3rd call is a rate_limit_error in Anthropic’s format with Retry-After', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: anth.key, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const { response } = await client.messages
        .create({ model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    }
    const refused = await client.messages
      .create({ model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('a virtual key’s own limit applies to that key', async () => {
    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: keyed.key, maxRetries: 0 });
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    const refused = await openai.embeddings.create({ model: MODEL, input: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).message).toContain("key 'k-keyed'");
  });

  it('a request larger than the whole tokens-per-minute limit is refused without Retry-After', async () => {
    const big = virtualKey('k-big');
    const g = await startGateway({ tenants: [tenant('tiny', big, { limits: { tokensPerMinute: 100 } })] });
    try {
      const res = await fetch(`${g.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${big.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] }),
      });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    } finally {
      await g.close();
    }
  });
});

describe('limits backend down', () => {
  it('answers 503 limits_unavailable in each client’s format, and never calls upstream', async () => {
    const key = virtualKey('k-down');
    // Nothing listens on port 1: every Redis command fails.
    const h = await startGateway(
      { tenants: [tenant('down', key, { limits: { requestsPerMinute: 100 } })] },
      { limits: { redisUrl: 'redis://127.0.0.1:1' } },
    );
    try {
      const before = upstream.requests.length;
      const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key.key, maxRetries: 0 });
      const e1 = await openai.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(OpenAI.APIError);
      expect((e1 as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((e1 as InstanceType<typeof OpenAI.APIError>).code).toBe('limits_unavailable');

      const anthropic = new Anthropic({ baseURL: h.url, apiKey: key.key, maxRetries: 0 });
      const e2 = await anthropic.messages
        .create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(Anthropic.APIError);
      expect((e2 as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
      expect((e2 as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: { type: 'overloaded_error' },
      });
      expect(upstream.requests.length).toBe(before);
    } finally {
      await h.close();
    }
  });
});
