import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import {
  createLimits,
  createWebhookDeliverer,
  type GatewayConfig,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
} from '../src/index.js';
import { connectTestRedis } from '../src/limits/testing/test-redis.js';
import { startGateway, virtualKey } from './support/gateway-harness.js';
import { openAIWire } from './support/metered-upstream.js';

/*
 * Budgets on the request path. The priced model costs exactly 1 µ$ per token (an operator
 * override), a request reserves 13 estimated prompt tokens ('x' × 36 → 9, + 4 for the message)
 * plus its max_tokens of 100 = 113 µ$, and the upstream reports exactly 13 + 100 tokens, so a
 * budget of 1 130 µ$ admits exactly 10 calls whether they are in flight or settled.
 */

const redis = await connectTestRedis();
const runId = randomUUID().slice(0, 8);
afterAll(async () => {
  if (!redis.available) return;
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `keyhold:*${runId}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.client.del(...keys);
  } while (cursor !== '0');
  await redis.client.quit();
});

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream(openAIWire({ usage: { prompt: 13, completion: 100 }, delayMs: 200 }));
});
afterAll(() => upstream.close());

export const PROMPT = 'x'.repeat(36);
const PRICING = {
  overrides: [
    { provider: 'openai', model: 'budget-model', inputPerMTok: 1, outputPerMTok: 1 },
    { provider: 'openai', model: 'free-model', inputPerMTok: 0, outputPerMTok: 0 },
  ],
};

function budgetConfig(
  tenantId: string,
  key: ReturnType<typeof virtualKey>,
  settings: Record<string, unknown>,
): GatewayConfig {
  return {
    pricing: PRICING,
    tenants: [
      {
        id: tenantId,
        settings,
        users: [{ id: 'alice' }],
        credentials: [
          {
            id: `${tenantId}-c`,
            provider: 'openai',
            secrets: { apiKey: 'sk-budget-test-000000' },
            fields: { baseURL: `${upstream.url}/v1` },
          },
        ],
        virtualKeys: [key.entry],
      },
    ],
  };
}

async function fire(url: string, key: string, count: number, model = 'openai/budget-model') {
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { error?: { code: string; message: string } },
      })),
    ),
  );
  return results;
}

const BACKENDS = ['memory', 'redis'] as const;

for (const backend of BACKENDS) {
  describe(`hard budget under concurrency (${backend})`, () => {
    it('50 concurrent requests against a budget that allows 10: exactly 10 succeed, the rest get budget_exceeded', async (ctx) => {
      if (backend === 'redis' && !redis.available) return ctx.skip();
      const tenantId = `b-${backend}-${runId}`;
      const key = virtualKey(`k-${backend}`);
      const limits = createLimits(backend === 'redis' ? { redisUrl: redis.url! } : {});
      const h = await startGateway(
        budgetConfig(tenantId, key, {
          budgets: [{ id: 'daily', scope: 'tenant', period: 'day', limitUsd: 0.00113, mode: 'hard' }],
        }),
        { limits },
      );
      try {
        const results = await fire(h.url, key.key, 50);
        const ok = results.filter((r) => r.status === 200);
        const refused = results.filter((r) => r.status === 429);
        expect(ok.length).toBe(10);
        expect(refused.length).toBe(40);
        expect(refused.every((r) => r.body.error?.code === 'budget_exceeded')).toBe(true);
        expect(refused[0]!.body.error?.message).toBe(
          `The daily budget 'daily' of tenant '${tenantId}' is exhausted`,
        );
        await h.close();
        // Settled with the real cost: spend is exactly the sum of the usage events.
        const status = await limits.budgets.status({
          id: `${tenantId}/daily`,
          scope: { kind: 'tenant', id: tenantId },
          period: 'day',
          limitMicros: 1130,
          mode: 'hard',
        });
        expect(status.reservedMicros).toBe(0);
        expect(status.spentMicros).toBe(h.usage.reduce((sum, e) => sum + e.costMicros, 0));
        expect(status.spentMicros).toBe(1130);
      } finally {
        await h.close();
        await limits.close();
      }
    });
  });
}

describe('budget scopes and prices', () => {
  it('a zero-priced or unpriced model is never blocked; a priced one is, naming the budget, in both formats', async () => {
    const key = virtualKey('k-zero', { userId: 'alice' });
    const h = await startGateway(
      budgetConfig(`z-${runId}`, key, {
        budgets: [
          { id: 'alice-cap', scope: 'user', scopeId: 'alice', period: 'month', limitUsd: 0, mode: 'hard' },
        ],
      }),
    );
    try {
      const free = await fire(h.url, key.key, 3, 'openai/free-model');
      expect(free.map((r) => r.status)).toEqual([200, 200, 200]);
      const unpriced = await fire(h.url, key.key, 2, 'openai/no-such-model-in-any-catalogue');
      expect(unpriced.map((r) => r.status)).toEqual([200, 200]);
      expect(
        h.usage.filter((e) => e.model === 'no-such-model-in-any-catalogue').every((e) => !e.priced),
      ).toBe(true);
      expect(
        h.usage.filter((e) => e.model === 'free-model').every((e) => e.priced && e.costMicros === 0),
      ).toBe(true);

      const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key.key, maxRetries: 2 });
      const before = upstream.requests.length;
      const e1 = (await openai.chat.completions
        .create({ model: 'openai/budget-model', messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
      expect(e1).toBeInstanceOf(OpenAI.RateLimitError);
      expect(e1.code).toBe('budget_exceeded');
      expect(e1.message).toContain("monthly budget 'alice-cap' of user 'alice'");
      // The SDK was told not to retry (x-should-retry: false), although maxRetries is 2.
      expect(e1.headers.get('x-should-retry')).toBe('false');
      expect(upstream.requests.length).toBe(before);

      const anthropic = new Anthropic({ baseURL: h.url, apiKey: key.key, maxRetries: 0 });
      const e2 = (await anthropic.messages
        .create({ model: 'openai/budget-model', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.RateLimitError>;
      expect(e2).toBeInstanceOf(Anthropic.RateLimitError);
      expect(e2.error).toMatchObject({
        error: { type: 'rate_limit_error', message: expect.stringContaining("'alice-cap'") },
      });
    } finally {
      await h.close();
    }
  });
});

describe('soft budget alerts', () => {
  let receiver: Server;
  let receiverUrl: string;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/keyhold`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('never blocks, and delivers signed 50 / 80 / 100 % alerts to the tenant webhook', async () => {
    const secret = 'whsec_test_budget_alerts_0001';
    const tenantId = `s-${runId}`;
    const key = virtualKey('k-soft');
    const config = budgetConfig(tenantId, key, {
      // 400 µ$ at 113 µ$ a call: the 2nd call (226) passes 50 %, the 3rd (339) 80 %, the 4th (452) 100 %.
      budgets: [{ id: 'soft-daily', scope: 'key', period: 'day', limitUsd: 0.0004, mode: 'soft' }],
      alertWebhook: { url: receiverUrl, secret: { env: 'ALERT_SECRET' } },
    });
    const h = await startGateway(config, {
      env: { ALERT_SECRET: secret },
      webhooks: createWebhookDeliverer({ maxAttempts: 1 }),
    });
    try {
      for (let i = 0; i < 5; i++) {
        const [r] = await fire(h.url, key.key, 1);
        expect(r!.status).toBe(200);
      }
      const deadline = Date.now() + 5_000;
      while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(received.length).toBe(3);
      const events = received.map((d) => {
        expect(verifyWebhook(secret, d.body, String(d.headers[WEBHOOK_SIGNATURE_HEADER]))).toBe(true);
        expect(verifyWebhook('wrong-secret', d.body, String(d.headers[WEBHOOK_SIGNATURE_HEADER]))).toBe(
          false,
        );
        return JSON.parse(d.body) as {
          type: string;
          id: string;
          data: { threshold: number; spentMicros: number };
        };
      });
      expect(events.map((e) => e.data.threshold).sort()).toEqual([100, 50, 80]);
      for (const e of events) {
        expect(e.type).toBe('budget.threshold');
        expect(e.data).toMatchObject({
          tenantId,
          budget: { id: 'soft-daily', scope: 'key', scopeId: 'k-soft', period: 'day', mode: 'soft' },
          limitMicros: 400,
          cause: 'spend',
        });
      }
      expect(events.find((e) => e.data.threshold === 50)!.data.spentMicros).toBe(226);
      expect(events.find((e) => e.data.threshold === 80)!.data.spentMicros).toBe(339);
      expect(events.find((e) => e.data.threshold === 100)!.data.spentMicros).toBe(452);
      // The secret never appears in what was sent.
      expect(received.some((d) => d.body.includes(secret))).toBe(false);
    } finally {
      await h.close();
    }
  });
});
