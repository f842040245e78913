import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import type { GatewayConfig } from '../src/index.js';
import { connectTestRedis } from '../src/limits/testing/test-redis.js';
import { virtualKey } from './support/gateway-harness.js';
import { openAIWire } from './support/metered-upstream.js';

/*
 * Two `keyhold serve` processes (from source) on one real Redis, sharing one local upstream:
 * budgets and rate limits hold across both. Each gets 25 concurrent requests at the same time.
 * Under CI a missing Redis fails the suite (connectTestRedis throws); locally it is skipped.
 */

const redis = await connectTestRedis();
const runId = randomUUID().slice(0, 8);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

let upstream: Upstream;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  // 13 + 100 tokens at 1 µ$ each = 113 µ$, exactly the worst case reserved (see budgets.test.ts).
  upstream = await startUpstream(openAIWire({ usage: { prompt: 13, completion: 100 }, delayMs: 200 }));
  dir = await mkdtemp(join(tmpdir(), 'keyhold-xproc-'));
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (!redis.available) return;
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `keyhold:*${runId}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.client.del(...keys);
  } while (cursor !== '0');
  await redis.client.quit();
});

/** Starts `keyhold serve` on an ephemeral port and resolves to its URL once it listens. */
async function startServe(configPath: string): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--conditions=@keyhold/source', '--import', 'tsx', main, 'serve', '--config', configPath, '--port', '0'],
    {
      cwd: repoRoot,
      env: { ...process.env, REDIS_URL: redis.url!, KEYHOLD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyhold serve did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyhold serve exited with ${code}:\n${output}`));
    });
  });
}

async function twoGateways(settings: Record<string, unknown>, tenantId: string) {
  const key = virtualKey(`k-${tenantId}`);
  const config: GatewayConfig = {
    pricing: {
      overrides: [{ provider: 'openai', model: 'budget-model', inputPerMTok: 1, outputPerMTok: 1 }],
    },
    tenants: [
      {
        id: tenantId,
        settings,
        credentials: [
          {
            id: 'c',
            provider: 'openai',
            secrets: { apiKey: 'sk-xproc-test-0000000' },
            fields: { baseURL: `${upstream.url}/v1` },
          },
        ],
        virtualKeys: [key.entry],
      },
    ],
  };
  const path = join(dir, `${tenantId}.yaml`);
  await writeFile(path, stringify(config));
  const urls = await Promise.all([startServe(path), startServe(path)]);
  return { urls, key: key.key };
}

async function fireAtBoth(urls: string[], key: string, each: number) {
  const calls = urls.flatMap((url) =>
    Array.from({ length: each }, () =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'openai/budget-model',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'x'.repeat(36) }],
        }),
      }).then(async (res) => ({
        url,
        status: res.status,
        code: ((await res.json()) as { error?: { code: string } }).error?.code,
      })),
    ),
  );
  return Promise.all(calls);
}

describe('limits across two gateway processes on one Redis', () => {
  it('hard budget that allows 10: 25 concurrent requests at each process, exactly 10 succeed in total', async (ctx) => {
    if (!redis.available) return ctx.skip();
    const { urls, key } = await twoGateways(
      { budgets: [{ id: 'shared-daily', scope: 'tenant', period: 'day', limitUsd: 0.00113 }] },
      `xb-${runId}`,
    );
    const results = await fireAtBoth(urls, key, 25);
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBe(10);
    expect(results.filter((r) => r.status === 429).every((r) => r.code === 'budget_exceeded')).toBe(true);
    expect(results.filter((r) => r.status === 429).length).toBe(40);
  }, 60_000);

  it('tenant limit of 10 requests per minute: 25 concurrent requests at each process, exactly 10 succeed in total', async (ctx) => {
    if (!redis.available) return ctx.skip();
    const { urls, key } = await twoGateways({ limits: { requestsPerMinute: 10 } }, `xr-${runId}`);
    const results = await fireAtBoth(urls, key, 25);
    expect(results.filter((r) => r.status === 200).length).toBe(10);
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBe(40);
    expect(refused.every((r) => r.code === 'rate_limit_exceeded')).toBe(true);
    // Both processes refused some: the counter is shared, not per process.
    expect(new Set(refused.map((r) => r.url)).size).toBe(2);
  }, 60_000);
});
