import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The test Redis, or why the Redis half of the suites is skipped. */
export type TestRedis =
  | { available: true; url: string; client: Redis }
  | { available: false; reason: string; url?: never; client?: never };

/**
 * Connects to `KEYHOLD_TEST_REDIS_URL`. When it is unset or does not answer, the Redis backend is
 * skipped with a printed reason — except under CI (`CI` set), where that is a failure.
 */
export async function connectTestRedis(): Promise<TestRedis> {
  const url = process.env.KEYHOLD_TEST_REDIS_URL;
  const fail = (reason: string): TestRedis => {
    if (process.env.CI) throw new Error(`Redis tests cannot run under CI: ${reason}`);
    console.warn(`[limits] skipping the Redis backend: ${reason}`);
    return { available: false, reason };
  };
  if (!url) return fail('KEYHOLD_TEST_REDIS_URL is not set');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return { available: true, url, client };
  } catch {
    client.disconnect();
    return fail(`Redis at KEYHOLD_TEST_REDIS_URL did not answer`);
  }
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `keyhold-test:${process.pid}:${randomUUID()}`;
}

/** Deletes every key under a prefix. */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await client.del(...keys);
  } while (cursor !== '0');
}
