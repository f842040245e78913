import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBudgets } from './redis-budgets.js';
import { connectTestRedis, deletePrefix, uniquePrefix } from './testing/test-redis.js';

/*
 * Two real processes, one Redis: the limits must hold across gateway instances. Each child
 * connects, reports ready, and on "go" fires 25 operations at once.
 */

const redis = await connectTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  if (!redis.available) return;
  for (const p of prefixes) await deletePrefix(redis.client, p);
  await redis.client.quit();
});

const worker = fileURLToPath(new URL('./testing/contend-worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

interface Worker {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

function startWorker(mode: 'budget' | 'rate', keyPrefix: string, count: number): Worker {
  const child = spawn(
    process.execPath,
    ['--conditions=@keyhold/source', '--import', 'tsx', worker, mode, redis.url!, keyPrefix, String(count)],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return { child, lines: readLines(child) };
}

async function* readLines(child: ChildProcess): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of child.stdout!) {
    buffered += chunk.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  }
}

async function nextLine(w: Worker): Promise<string> {
  const next = await w.lines.next();
  if (next.done) throw new Error('worker exited early');
  return next.value;
}

/** Starts both workers, waits until both are ready, releases them together, returns the success count. */
async function contend(mode: 'budget' | 'rate', keyPrefix: string): Promise<number> {
  const workers = [startWorker(mode, keyPrefix, 25), startWorker(mode, keyPrefix, 25)];
  try {
    for (const w of workers) expect(await nextLine(w)).toBe('ready');
    for (const w of workers) w.child.stdin!.write('go\n');
    const results = await Promise.all(
      workers.map(async (w) => JSON.parse(await nextLine(w)) as { ok: number; total: number }),
    );
    for (const r of results) expect(r.total).toBe(25);
    await Promise.all(workers.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : undefined)));
    return results.reduce((sum, r) => sum + r.ok, 0);
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill();
  }
}

describe.skipIf(!redis.available)('limits across two processes on one Redis', () => {
  it('a budget that allows 10 calls admits exactly 10 of 2 × 25 concurrent ones', async () => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    expect(await contend('budget', keyPrefix)).toBe(10);
    const budgets = createRedisBudgets({ redis: redis.client!, keyPrefix });
    const status = await budgets.status({
      id: 'shared-budget',
      scope: { kind: 'tenant', id: 'tenant-1' },
      period: 'month',
      limitMicros: 1000,
      mode: 'hard',
    });
    expect(status).toMatchObject({ spentMicros: 0, reservedMicros: 1000 });
  });

  it('a 10 requests-per-minute limit admits exactly 10 of 2 × 25 concurrent requests', async () => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    // Refill is one request per 6 s; the burst takes milliseconds, so exactly the 10 of the burst pass.
    expect(await contend('rate', keyPrefix)).toBe(10);
  });
});
