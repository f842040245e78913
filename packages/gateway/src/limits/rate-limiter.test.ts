import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter, RateScope } from './rate-limiter.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { connectTestRedis, deletePrefix, uniquePrefix } from './testing/test-redis.js';

const redis = await connectTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  if (!redis.available) return;
  for (const p of prefixes) await deletePrefix(redis.client, p);
  await redis.client.quit();
});

const tenant = (id: string, limits: Omit<RateScope, 'kind' | 'id'>): RateScope => ({
  kind: 'tenant',
  id,
  ...limits,
});

for (const backend of ['memory', 'redis'] as const) {
  describe.skipIf(backend === 'redis' && !redis.available)(`rate limiter (${backend})`, () => {
    /** A limiter on a clock the test moves by hand. */
    function setup() {
      const clock = { t: 1_800_000_000_000 };
      const now = () => clock.t;
      let limiter: RateLimiter;
      if (backend === 'memory') limiter = createMemoryRateLimiter({ now });
      else {
        const keyPrefix = uniquePrefix();
        prefixes.push(keyPrefix);
        limiter = createRedisRateLimiter({ redis: redis.client!, keyPrefix, now });
      }
      return { clock, limiter };
    }

    it('admits rpm requests, then refuses with Retry-After and OpenAI’s headers', async () => {
      const { limiter } = setup();
      const scope = tenant('t1', { rpm: 5 });
      const first = await limiter.check({ tenantId: 'tenant-1', scopes: [scope] });
      expect(first).toMatchObject({ ok: true });
      expect(first.headers).toEqual({
        'x-ratelimit-limit-requests': '5',
        'x-ratelimit-remaining-requests': '4',
        'x-ratelimit-reset-requests': '12s',
      });
      for (let i = 0; i < 4; i++)
        expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(true);
      const refused = await limiter.check({ tenantId: 'tenant-1', scopes: [scope] });
      expect(refused).toMatchObject({ ok: false, scope, limit: 'requests', retryAfterMs: 12_000 });
      expect(refused.headers).toEqual({
        'x-ratelimit-limit-requests': '5',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1m0s',
        'retry-after': '12',
      });
    });

    it('refills continuously: one emission interval later one more request fits', async () => {
      const { clock, limiter } = setup();
      const scope = tenant('t1', { rpm: 6 });
      for (let i = 0; i < 6; i++) await limiter.check({ tenantId: 'tenant-1', scopes: [scope] });
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(false);
      clock.t += 9_999;
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(false);
      clock.t += 1;
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(true);
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(false);
    });

    it('reserves estimated tokens, and settle refunds the unused part', async () => {
      const { limiter } = setup();
      const scope = tenant('t1', { tpm: 1000 });
      const first = await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 600 });
      if (!first.ok) throw new Error('expected ok');
      expect(first.headers).toMatchObject({
        'x-ratelimit-remaining-tokens': '400',
        'x-ratelimit-reset-tokens': '36s',
      });
      const second = await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 600 });
      // 200 tokens over, at 60 ms a token.
      expect(second).toMatchObject({ ok: false, limit: 'tokens', retryAfterMs: 12_000 });
      await limiter.settle(first.ticket, 100);
      const third = await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 600 });
      expect(third).toMatchObject({ ok: true, headers: { 'x-ratelimit-remaining-tokens': '300' } });
    });

    it('settle charges tokens beyond the estimate, which blocks until they drain', async () => {
      const { clock, limiter } = setup();
      const scope = tenant('t1', { tpm: 1000 });
      const first = await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 0 });
      if (!first.ok) throw new Error('expected ok');
      await limiter.settle(first.ticket, 1500);
      expect(await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 0 })).toMatchObject({
        ok: false,
        retryAfterMs: 30_000,
      });
      clock.t += 30_000;
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope], tokens: 0 })).ok).toBe(true);
    });

    it('refuses outright a request larger than the whole tokens-per-minute limit', async () => {
      const { limiter } = setup();
      const result = await limiter.check({
        tenantId: 'tenant-1',
        scopes: [tenant('t1', { tpm: 1000 })],
        tokens: 1001,
      });
      expect(result).toMatchObject({ ok: false, limit: 'tokens', retryAfterMs: null });
      expect(result.headers['retry-after']).toBeUndefined();
      expect(result.headers['x-ratelimit-remaining-tokens']).toBe('1000');
    });

    it('is all-or-nothing across scopes: a refusal by one scope charges none', async () => {
      const { limiter } = setup();
      const t = tenant('t1', { rpm: 100 });
      const user: RateScope = { kind: 'user', id: 'u1', rpm: 1 };
      expect((await limiter.check({ tenantId: 'tenant-1', scopes: [t, user] })).ok).toBe(true);
      const refused = await limiter.check({ tenantId: 'tenant-1', scopes: [t, user] });
      expect(refused).toMatchObject({ ok: false, scope: user, limit: 'requests' });
      // The tenant was charged once (first call), not twice; this check is its second request.
      const tenantOnly = await limiter.check({ tenantId: 'tenant-1', scopes: [t] });
      expect(tenantOnly.headers['x-ratelimit-remaining-requests']).toBe('98');
    });

    it('reports the binding scope in the headers, each dimension on its own', async () => {
      const { limiter } = setup();
      const result = await limiter.check({
        tenantId: 'tenant-1',
        scopes: [tenant('t1', { rpm: 100, tpm: 10_000 }), { kind: 'key', id: 'k1', rpm: 10, tpm: 1_000_000 }],
        tokens: 100,
      });
      expect(result.headers).toEqual({
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '9',
        'x-ratelimit-reset-requests': '6s',
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '9900',
        'x-ratelimit-reset-tokens': '600ms',
      });
    });

    it('keeps the same user id of two tenants apart', async () => {
      const { limiter } = setup();
      const user: RateScope = { kind: 'user', id: 'alice', rpm: 1 };
      expect((await limiter.check({ tenantId: 'a', scopes: [user] })).ok).toBe(true);
      expect((await limiter.check({ tenantId: 'b', scopes: [user] })).ok).toBe(true);
      expect((await limiter.check({ tenantId: 'a', scopes: [user] })).ok).toBe(false);
    });

    it('admits without headers when no scope has a limit', async () => {
      const { limiter } = setup();
      expect(
        await limiter.check({ tenantId: 'tenant-1', scopes: [{ kind: 'user', id: 'u' }], tokens: 5 }),
      ).toMatchObject({
        ok: true,
        headers: {},
      });
    });

    it('rejects a non-positive limit as a configuration error', async () => {
      const { limiter } = setup();
      await expect(
        limiter.check({ tenantId: 'tenant-1', scopes: [tenant('t1', { rpm: 0 })] }),
      ).rejects.toThrow(RangeError);
    });

    it('50 concurrent requests against rpm 10: exactly 10 pass', async () => {
      const { limiter } = setup();
      const scope = tenant('t1', { rpm: 10 });
      const results = await Promise.all(
        Array.from({ length: 50 }, () => limiter.check({ tenantId: 'tenant-1', scopes: [scope] })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
    });

    it('one tenant at its limit does not hold back another', async () => {
      const { limiter } = setup();
      const busy = tenant('busy', { rpm: 5, tpm: 100 });
      const calm = tenant('calm', { rpm: 1000, tpm: 1_000_000 });
      for (let i = 0; i < 5; i++) await limiter.check({ tenantId: 'busy', scopes: [busy] });
      const mixed = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          limiter.check({ tenantId: i % 2 ? 'busy' : 'calm', scopes: [i % 2 ? busy : calm], tokens: 10 }),
        ),
      );
      const calmResults = mixed.filter((_, i) => i % 2 === 0);
      const busyResults = mixed.filter((_, i) => i % 2 === 1);
      expect(calmResults.filter((r) => r.ok)).toHaveLength(100);
      expect(busyResults.filter((r) => r.ok)).toHaveLength(0);
    });
  });
}

describe.skipIf(!redis.available)('rate limiter (redis, server clock)', () => {
  it('measures time with the Redis server’s clock when no clock is given', async () => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    const limiter = createRedisRateLimiter({ redis: redis.client!, keyPrefix });
    const scope = tenant('t1', { rpm: 1 });
    expect((await limiter.check({ tenantId: 'tenant-1', scopes: [scope] })).ok).toBe(true);
    const refused = await limiter.check({ tenantId: 'tenant-1', scopes: [scope] });
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.retryAfterMs).toBeGreaterThan(55_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.headers['retry-after']).toBe(String(Math.ceil(refused.retryAfterMs! / 1000)));
  });

  it('leaves keys that expire once the bucket is full again', async () => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    const limiter = createRedisRateLimiter({ redis: redis.client!, keyPrefix });
    await limiter.check({ tenantId: 'tenant-1', scopes: [tenant('t1', { rpm: 60 })] });
    const ttl = await redis.client!.pttl(`${keyPrefix}:rl:{tenant-1}:tenant:t1:r`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });
});
