import { afterAll, describe, expect, it } from 'vitest';
import { createLimits } from './create-limits.js';
import { connectTestRedis, deletePrefix, uniquePrefix } from './testing/test-redis.js';

const redis = await connectTestRedis();
const keyPrefix = uniquePrefix();
afterAll(async () => {
  if (!redis.available) return;
  await deletePrefix(redis.client, keyPrefix);
  await redis.client.quit();
});

describe('createLimits', () => {
  it('keeps limits in memory without a Redis URL', async () => {
    const limits = createLimits();
    expect(limits.backend).toBe('memory');
    const scope = { kind: 'tenant' as const, id: 't', rpm: 1 };
    expect((await limits.rateLimiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(true);
    expect((await limits.rateLimiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(false);
    await limits.close();
  });

  it.skipIf(!redis.available)('shares limits through Redis when given its URL', async () => {
    const a = createLimits({ redisUrl: redis.url!, keyPrefix });
    const b = createLimits({ redisUrl: redis.url!, keyPrefix });
    expect(a.backend).toBe('redis');
    const scope = { kind: 'tenant' as const, id: 't', rpm: 1 };
    expect((await a.rateLimiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(true);
    expect((await b.rateLimiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(false);
    const budget = {
      id: 'b',
      scope: { kind: 'tenant' as const, id: 't' },
      period: 'day' as const,
      limitMicros: 10,
      mode: 'hard' as const,
    };
    expect((await a.budgets.reserve({ budgets: [budget], micros: 10 })).ok).toBe(true);
    expect((await b.budgets.reserve({ budgets: [budget], micros: 1 })).ok).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it('rejects (does not hang) when Redis is unreachable', async () => {
    const limits = createLimits({ redisUrl: 'redis://127.0.0.1:1' });
    await expect(
      limits.rateLimiter.check({ tenantId: 'tenant-1', scopes: [{ kind: 'tenant', id: 't', rpm: 1 }] }),
    ).rejects.toThrow();
    await limits.close();
  });
});
