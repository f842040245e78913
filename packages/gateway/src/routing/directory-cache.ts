import type { Awaitable, CredentialRecord, Directory, DirectoryChange } from './directory.js';

export interface DirectoryCacheOptions {
  /** How long a looked-up record is trusted without a change notice (ms). Default 30 s. */
  ttlMs?: number;
  /** Entries kept per table before the oldest are dropped. Default 50,000. */
  maxEntries?: number;
}

interface Entry<T> {
  /** The lookup while it runs, then its result (so a warm hit costs no microtask). */
  value: Awaitable<T>;
  expires: number;
}

/**
 * Wraps a directory with in-memory caches so the hot path does no round trip once warm.
 * Concurrent misses for the same key share one lookup; once it has answered, hits return the
 * value itself rather than a promise. Entries expire after `ttlMs`, and a change notice from the
 * directory drops the affected entries at once. `open` is not cached here: the directory below
 * decides how long opened secrets may be reused (the store's keeps them with their sealed row).
 */
export function createDirectoryCache(directory: Directory, options: DirectoryCacheOptions = {}): Directory {
  const ttl = options.ttlMs ?? 30_000;
  const max = options.maxEntries ?? 50_000;
  const tables = {
    tenant: new Map<string, Entry<unknown>>(),
    user: new Map<string, Entry<unknown>>(),
    memberships: new Map<string, Entry<unknown>>(),
    key: new Map<string, Entry<unknown>>(),
    operator: new Map<string, Entry<unknown>>(),
  };
  // Credentials by tenant, then provider: the hot path looks up two strings it already holds
  // (no key to build and hash per request), and a tenant's change notice drops one entry
  // instead of scanning every cached key.
  const credentials = new Map<string, Map<string, Entry<CredentialRecord[]>>>();
  let credentialEntries = 0;

  /**
   * Settles `entry` when its lookup answers: the result replaces the promise, a failure drops
   * the entry (a failed lookup is not remembered), unless `entry` was replaced meanwhile.
   */
  function settleEntry<T>(entry: Entry<T>, loading: Promise<T>, drop: () => void, current: () => unknown) {
    loading.then(
      (value) => {
        if (current() === entry) entry.value = value;
      },
      () => {
        if (current() === entry) drop();
      },
    );
  }

  function cached<T>(
    table: Map<string, Entry<unknown>>,
    key: string,
    load: () => Awaitable<T>,
  ): Awaitable<T> {
    const now = Date.now();
    const hit = table.get(key);
    if (hit && hit.expires > now) return hit.value as Awaitable<T>;
    const value = load();
    const entry: Entry<T> = { value, expires: now + ttl };
    if (table.size >= max) table.delete(table.keys().next().value as string);
    table.set(key, entry);
    if (value instanceof Promise) {
      settleEntry(
        entry,
        value,
        () => table.delete(key),
        () => table.get(key),
      );
    }
    return value;
  }

  function cachedCredentials(tenantId: string, provider: string): Awaitable<CredentialRecord[]> {
    const now = Date.now();
    let byProvider = credentials.get(tenantId);
    const hit = byProvider?.get(provider);
    if (hit && hit.expires > now) return hit.value;
    const value = directory.listCredentials(tenantId, provider);
    if (byProvider === undefined) {
      if (credentialEntries >= max) dropCredentials(credentials.keys().next().value as string);
      byProvider = new Map();
      credentials.set(tenantId, byProvider);
    }
    if (!byProvider.has(provider)) credentialEntries++;
    const entry: Entry<CredentialRecord[]> = { value, expires: now + ttl };
    byProvider.set(provider, entry);
    if (value instanceof Promise) {
      settleEntry(
        entry,
        value,
        () => {
          credentials.get(tenantId)?.delete(provider);
          credentialEntries--;
        },
        () => credentials.get(tenantId)?.get(provider),
      );
    }
    return value;
  }

  function dropCredentials(tenantId: string): void {
    const byProvider = credentials.get(tenantId);
    if (byProvider === undefined) return;
    credentialEntries -= byProvider.size;
    credentials.delete(tenantId);
  }

  function dropPrefix(table: Map<string, Entry<unknown>>, prefix: string): void {
    for (const key of table.keys()) if (key.startsWith(prefix)) table.delete(key);
  }

  function invalidate(change: DirectoryChange): void {
    switch (change.kind) {
      case 'tenant':
        tables.tenant.delete(change.tenantId);
        dropPrefix(tables.user, `${change.tenantId}\u0000`);
        dropPrefix(tables.memberships, `${change.tenantId}\u0000`);
        break;
      case 'virtual-key':
        tables.key.delete(change.hash);
        break;
      case 'credentials':
        dropCredentials(change.tenantId);
        break;
      case 'operator-keys':
        tables.operator.clear();
        break;
      case 'egress-allow-list':
        // Not directory data: the egress policy follows it (egress/allow-list-sync.ts).
        break;
      case 'all':
        for (const table of Object.values(tables)) table.clear();
        credentials.clear();
        credentialEntries = 0;
        break;
    }
  }

  const unsubscribe = directory.subscribe?.(invalidate);

  return {
    mode: directory.mode,
    getTenant: (id) => cached(tables.tenant, id, () => directory.getTenant(id)),
    getUser: (t, u) => cached(tables.user, `${t}\u0000${u}`, () => directory.getUser(t, u)),
    listMemberships: (t, u) =>
      cached(tables.memberships, `${t}\u0000${u}`, () => directory.listMemberships(t, u)),
    findVirtualKey: (hash) => cached(tables.key, hash, () => directory.findVirtualKey(hash)),
    listCredentials: cachedCredentials,
    listOperatorKeys: (p) => cached(tables.operator, p, () => directory.listOperatorKeys(p)),
    open: (ref) => directory.open(ref),
    subscribe: directory.subscribe?.bind(directory),
    async close() {
      unsubscribe?.();
      for (const table of Object.values(tables)) table.clear();
      credentials.clear();
      await directory.close?.();
    },
  };
}
