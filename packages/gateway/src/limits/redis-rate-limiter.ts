import type { Redis } from 'ioredis';
import type { GcraStep } from './gcra.js';
import { decide, toDimensions, toTokenCost } from './rate-decision.js';
import { RATE_ADJUST, RATE_CHECK } from './rate-limit-lua.js';
import { RATE_PERIOD_MS, type RateLimiter, type RateScope } from './rate-limiter.js';
import { keyPart, runLua } from './run-lua.js';

export interface RedisRateLimiterOptions {
  /** A connected client; the limiter does not close it. */
  redis: Redis;
  /** Prefix of every key. Default `keyhold`. */
  keyPrefix?: string;
  /** Clock in milliseconds; default is the Redis server's clock, shared by all instances. */
  now?: () => number;
}

/**
 * Rate limits shared by every gateway instance using one Redis. One Lua script evaluates and
 * charges every scope of a request atomically; it touches only that request's own keys, so one
 * tenant at its limit does not hold up another beyond the microseconds a script runs.
 *
 * A Redis failure rejects `check`: the caller decides whether to fail closed (503) or open.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'keyhold';
  const now = () => (options.now ? String(options.now()) : '');
  // {tenant} is a Cluster hash tag: one request's keys always share a slot.
  const key = (tenantId: string, scope: RateScope, limit: 'requests' | 'tokens') =>
    `${prefix}:rl:{${keyPart(tenantId)}}:${scope.kind}:${keyPart(scope.id)}:${limit === 'requests' ? 'r' : 't'}`;

  return {
    async check(input) {
      const tokens = toTokenCost(input.tokens);
      const dims = toDimensions(input.scopes, tokens);
      if (dims.length === 0) return decide(input.tenantId, input.scopes, dims, [], tokens);
      const args: (string | number)[] = [now(), RATE_PERIOD_MS];
      for (const d of dims) args.push(d.max, d.cost);
      const reply = (await runLua(
        redis,
        RATE_CHECK,
        dims.map((d) => key(input.tenantId, d.scope, d.limit)),
        args,
      )) as number[];
      const steps: GcraStep[] = dims.map((_, i) => {
        const status = reply[i * 4]!;
        return {
          allowed: status === 0,
          tooLarge: status === 2,
          newTat: 0,
          waitMs: reply[i * 4 + 1]!,
          remaining: reply[i * 4 + 2]!,
          resetMs: reply[i * 4 + 3]!,
        };
      });
      return decide(input.tenantId, input.scopes, dims, steps, tokens);
    },

    async settle(ticket, actualTokens) {
      const delta = toTokenCost(actualTokens) - ticket.reservedTokens;
      const scopes = ticket.scopes.filter((s) => s.tpm !== undefined);
      if (delta === 0 || scopes.length === 0) return;
      const args: (string | number)[] = [now(), RATE_PERIOD_MS];
      for (const s of scopes) args.push(s.tpm!, delta);
      await runLua(
        redis,
        RATE_ADJUST,
        scopes.map((s) => key(ticket.tenantId, s, 'tokens')),
        args,
      );
    },

    async close() {},
  };
}
