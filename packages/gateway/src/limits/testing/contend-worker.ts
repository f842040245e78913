/**
 * A second gateway process for the cross-process tests: connects to Redis, says `ready`, waits for
 * `go` on stdin, then fires `count` concurrent budget reservations or rate-limit checks at once and
 * prints how many succeeded as JSON.
 *
 * Usage: node --conditions=@keyhold/source --import tsx contend-worker.ts <budget|rate> <redis url> <prefix> <count>
 */
import { Redis } from 'ioredis';
import type { Budget } from '../budgets.js';
import { createRedisBudgets } from '../redis-budgets.js';
import { createRedisRateLimiter } from '../redis-rate-limiter.js';

const [mode, url, keyPrefix, countArg] = process.argv.slice(2);
const count = Number(countArg);
if ((mode !== 'budget' && mode !== 'rate') || !url || !keyPrefix || !Number.isInteger(count)) {
  console.error('usage: contend-worker <budget|rate> <redis url> <prefix> <count>');
  process.exit(2);
}

/** The budget both processes contend for: 1 000 micro-dollars, 100 per call → 10 calls. */
const SHARED_BUDGET: Budget = {
  id: 'shared-budget',
  scope: { kind: 'tenant', id: 'tenant-1' },
  period: 'month',
  limitMicros: 1000,
  mode: 'hard',
};

const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const budgets = createRedisBudgets({ redis, keyPrefix });
const limiter = createRedisRateLimiter({ redis, keyPrefix });
await redis.ping();

const attempt = async (): Promise<boolean> => {
  if (mode === 'budget') return (await budgets.reserve({ budgets: [SHARED_BUDGET], micros: 100 })).ok;
  return (
    await limiter.check({ tenantId: 'tenant-1', scopes: [{ kind: 'tenant', id: 'tenant-1', rpm: 10 }] })
  ).ok;
};

process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  const results = await Promise.all(Array.from({ length: count }, attempt));
  process.stdout.write(`${JSON.stringify({ ok: results.filter(Boolean).length, total: results.length })}\n`);
  await redis.quit();
  process.exit(0);
});
