import { describe, expect, it } from 'vitest';
import type { CredentialRecord, Directory, DirectoryChange } from './directory.js';
import { createDirectoryCache } from './directory-cache.js';

/** A directory whose credential listings are counted, and whose change notices the test sends. */
function countingDirectory(options: { fail?: (tenantId: string) => boolean } = {}) {
  const loads: string[] = [];
  let notify: (change: DirectoryChange) => void = () => undefined;
  const record = (tenantId: string, provider: string, version: number): CredentialRecord => ({
    id: `${tenantId}-${provider}-${version}`,
    tenantId,
    owner: { kind: 'tenant', id: tenantId },
    provider,
    purpose: 'any',
    status: 'active',
    hint: '…abcd',
    fields: {},
  });
  const directory: Directory = {
    mode: 'shared',
    getTenant: async () => undefined,
    getUser: async () => undefined,
    listMemberships: async () => [],
    findVirtualKey: async () => undefined,
    async listCredentials(tenantId, provider) {
      loads.push(`${tenantId}/${provider}`);
      if (options.fail?.(tenantId)) throw new Error('database down');
      return [record(tenantId, provider, loads.length)];
    },
    listOperatorKeys: async () => [],
    open: async () => {
      throw new Error('not used');
    },
    subscribe(listener) {
      notify = listener;
      return () => undefined;
    },
  };
  return { directory, loads, notify: (change: DirectoryChange) => notify(change) };
}

describe('directory cache: credential listings', () => {
  it('loads each tenant and provider once, concurrent misses included', async () => {
    const { directory, loads } = countingDirectory();
    const cache = createDirectoryCache(directory);
    const [a, b] = await Promise.all([
      cache.listCredentials('t1', 'openai'),
      cache.listCredentials('t1', 'openai'),
    ]);
    expect(a).toBe(b);
    await cache.listCredentials('t1', 'anthropic');
    await cache.listCredentials('t2', 'openai');
    expect(await cache.listCredentials('t1', 'openai')).toBe(a);
    expect(loads).toEqual(['t1/openai', 't1/anthropic', 't2/openai']);
  });

  it("a tenant's credential notice drops that tenant's listings only; `all` drops everything", async () => {
    const { directory, loads, notify } = countingDirectory();
    const cache = createDirectoryCache(directory);
    const before = await cache.listCredentials('t1', 'openai');
    await cache.listCredentials('t1', 'anthropic');
    await cache.listCredentials('t2', 'openai');
    notify({ kind: 'credentials', tenantId: 't1' });
    const after = await cache.listCredentials('t1', 'openai');
    expect(after).not.toBe(before);
    await cache.listCredentials('t1', 'anthropic');
    await cache.listCredentials('t2', 'openai');
    expect(loads).toEqual(['t1/openai', 't1/anthropic', 't2/openai', 't1/openai', 't1/anthropic']);
    notify({ kind: 'all' });
    await cache.listCredentials('t2', 'openai');
    expect(loads.at(-1)).toBe('t2/openai');
    expect(loads).toHaveLength(6);
  });

  it('does not remember a failed lookup', async () => {
    let down = true;
    const { directory, loads } = countingDirectory({ fail: () => down });
    const cache = createDirectoryCache(directory);
    await expect(cache.listCredentials('t1', 'openai')).rejects.toThrow('database down');
    down = false;
    expect(await cache.listCredentials('t1', 'openai')).toHaveLength(1);
    expect(loads).toEqual(['t1/openai', 't1/openai']);
  });

  it('expires entries after the TTL and keeps at most maxEntries', async () => {
    const { directory, loads } = countingDirectory();
    const short = createDirectoryCache(directory, { ttlMs: 1 });
    await short.listCredentials('t1', 'openai');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await short.listCredentials('t1', 'openai');
    expect(loads).toEqual(['t1/openai', 't1/openai']);

    loads.length = 0;
    const small = createDirectoryCache(directory, { maxEntries: 2 });
    await small.listCredentials('t1', 'openai');
    await small.listCredentials('t2', 'openai');
    await small.listCredentials('t3', 'openai');
    // t1, the oldest tenant, made room.
    await small.listCredentials('t3', 'openai');
    await small.listCredentials('t2', 'openai');
    await small.listCredentials('t1', 'openai');
    expect(loads).toEqual(['t1/openai', 't2/openai', 't3/openai', 't1/openai']);
  });
});
