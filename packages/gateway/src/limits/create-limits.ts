import { Redis } from 'ioredis';
import type { Budgets, BudgetsOptions } from './budgets.js';
import { createMemoryBudgets } from './memory-budgets.js';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { createRedisBudgets } from './redis-budgets.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';

export interface CreateLimitsOptions extends BudgetsOptions {
  /** `REDIS_URL`: when set, limits and budgets are shared through Redis by every instance. */
  redisUrl?: string;
  /** Prefix of every Redis key. Default `keyhold`. */
  keyPrefix?: string;
  /**
   * Connection errors (Redis down, reconnecting). Commands issued meanwhile reject on their own;
   * this is for logging. Default: ignored.
   */
  onRedisError?: (error: Error) => void;
}

export interface Limits {
  readonly backend: 'memory' | 'redis';
  readonly rateLimiter: RateLimiter;
  readonly budgets: Budgets;
  /** Closes the Redis connection this created. */
  close(): Promise<void>;
}

/**
 * Rate limiter and budgets on the configured backend: in memory by default, in Redis when a URL is
 * given. The Redis client gives up on a command after one reconnection attempt, so a Redis outage
 * makes `check`/`reserve` reject quickly instead of holding requests; the gateway answers those
 * with a 503 rather than serving unlimited traffic.
 *
 * @example
 * const limits = createLimits({ redisUrl: process.env.REDIS_URL, onAlert: sendAlert });
 */
export function createLimits(options: CreateLimitsOptions = {}): Limits {
  const { redisUrl, keyPrefix, onRedisError, ...budgetOptions } = options;
  if (!redisUrl) {
    return {
      backend: 'memory',
      rateLimiter: createMemoryRateLimiter(budgetOptions.now ? { now: budgetOptions.now } : {}),
      budgets: createMemoryBudgets(budgetOptions),
      close: async () => {},
    };
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  // Without a listener ioredis prints every connection error to stderr itself.
  redis.on('error', (error: Error) => onRedisError?.(error));
  const prefix = keyPrefix !== undefined ? { keyPrefix } : {};
  return {
    backend: 'redis',
    rateLimiter: createRedisRateLimiter({ redis, ...prefix }),
    budgets: createRedisBudgets({ redis, ...prefix, ...budgetOptions }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
