import { randomBytes } from 'node:crypto';
import { AuthenticationError, NotFoundError } from '@keyhold/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { generateVirtualKey } from '../auth/virtual-key.js';
import type { Directory, DirectoryChange } from '../routing/directory.js';
import { createDirectoryCache } from '../routing/directory-cache.js';
import { createKeyring } from '../vault/keyring.js';
import { storeCredential } from '../vault/store-credential.js';
import { createVault, type Vault } from '../vault/vault.js';
import {
  getCredentialMetadata,
  groupOwner,
  operatorOwner,
  setCredentialStatus,
  tenantOwner,
  userOwner,
} from './credentials.js';
import { createDatabase, type Database } from './database.js';
import { changeSourceOf, notifyDirectoryChange } from './directory-changes.js';
import { createGroup, setMembership } from './groups.js';
import { createStoreDirectory, type StoreDirectory } from './store-directory.js';
import { createTenant } from './tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from './testing/backends.js';
import { createUser } from './users.js';
import { createVirtualKey } from './virtual-keys.js';

const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });

/** Resolves with the first change a directory reports that matches, or fails after `ms`. */
function nextChange(
  directory: Directory,
  match: (change: DirectoryChange) => boolean,
  ms = 5_000,
): Promise<DirectoryChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no change notice arrived'));
    }, ms);
    const off = directory.subscribe!((change) => {
      if (!match(change)) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

interface Fixture {
  tenantA: string;
  tenantB: string;
  user: string;
  group: string;
  keys: { tenantA: string; user: string; group: string; tenantB: string; operator: string };
  credentialIds: {
    tenantA: string;
    user: string;
    group: string;
    tenantB: string;
    operator: string;
    revokedOp: string;
  };
  virtualKeyHash: string;
  revokedKeyHash: string;
}

async function seed(database: Database): Promise<Fixture> {
  const { db } = database;
  const a = await createTenant(db, {
    name: 'A',
    settings: {
      allowRequestKeyHeader: true,
      allowOperatorFallback: true,
      defaultModel: 'openai/gpt-4o-mini',
      defaultParameters: { max_tokens: 256, temperature: 0.2, top_p: 0.9 },
      parameterCaps: { maxTokens: 1024 },
      allowedModels: ['openai/*'],
      mandatoryByo: ['embedding'],
      limits: { requestsPerMinute: 60, perUser: { tokensPerMinute: 1000 } },
      budgets: [{ id: 'month', scope: 'tenant', period: 'month', limitMicros: 5_000_000, mode: 'hard' }],
    },
  });
  const b = await createTenant(db, { name: 'B' });
  const user = await createUser(db, { tenantId: a.id, email: 'u@a.test', name: 'U', role: 'member' });
  const group = await createGroup(db, { tenantId: a.id, name: 'team' });
  await setMembership(db, { tenantId: a.id, groupId: group.id, userId: user.id, mayUseCredentials: true });
  const keys = {
    tenantA: canaryKey('sk-tenant-a'),
    user: canaryKey('sk-user'),
    group: canaryKey('sk-group'),
    tenantB: canaryKey('sk-tenant-b'),
    operator: canaryKey('sk-operator'),
  };
  const store = (
    owner: Parameters<typeof storeCredential>[2]['owner'],
    provider: string,
    apiKey: string,
    purpose: 'any' | 'chat' = 'any',
  ) =>
    storeCredential(db, vault, {
      owner,
      provider,
      purpose,
      secrets: { apiKey },
      fields: { baseURL: 'http://127.0.0.1:9/v1' },
    });
  const credentialIds = {
    tenantA: (await store(tenantOwner(a.id), 'openai', keys.tenantA)).id,
    user: (await store(userOwner(a.id, user.id), 'openai', keys.user, 'chat')).id,
    group: (await store(groupOwner(a.id, group.id), 'openai', keys.group)).id,
    tenantB: (await store(tenantOwner(b.id), 'openai', keys.tenantB)).id,
    operator: (await store(operatorOwner(), 'openai', keys.operator)).id,
    revokedOp: (await store(operatorOwner(), 'openai', canaryKey('sk-op-old'), 'chat')).id,
  };
  await setCredentialStatus(db, credentialIds.revokedOp, 'revoked');
  const vk = generateVirtualKey();
  await createVirtualKey(db, {
    tenantId: a.id,
    userId: user.id,
    keyHash: vk.hash,
    prefix: vk.prefix,
    hint: vk.hint,
    name: 'k',
  });
  const revoked = generateVirtualKey();
  await createVirtualKey(db, {
    tenantId: a.id,
    keyHash: revoked.hash,
    prefix: revoked.prefix,
    hint: revoked.hint,
    name: 'old',
  });
  await db
    .updateTable('virtualKeys')
    .set({ revokedAt: new Date(0) })
    .where('keyHash', '=', revoked.hash)
    .execute();
  return {
    tenantA: a.id,
    tenantB: b.id,
    user: user.id,
    group: group.id,
    keys,
    credentialIds,
    virtualKeyHash: vk.hash,
    revokedKeyHash: revoked.hash,
  };
}

for (const backend of BACKENDS) {
  describe(`store directory on ${backend}`, () => {
    let database: TestDatabase;
    let directory: StoreDirectory;
    let f: Fixture;
    beforeAll(async () => {
      database = await openTestDatabase(backend);
      f = await seed(database);
      directory = createStoreDirectory({
        db: database.db,
        vault,
        mode: 'shared',
        changes: changeSourceOf(database),
        touchIntervalMs: 60_000,
      });
      await directory.ready;
    });
    afterAll(async () => {
      await directory?.close();
      await database?.close();
    });

    it('maps tenants and their settings; unknown and malformed ids find nothing', async () => {
      const tenant = await directory.getTenant(f.tenantA);
      expect(tenant).toEqual({
        id: f.tenantA,
        name: 'A',
        status: 'active',
        settings: {
          allowKeyHeader: true,
          allowOperatorFallback: true,
          defaultModel: 'openai/gpt-4o-mini',
          defaults: { maxTokens: 256, temperature: 0.2 },
          caps: { maxTokens: 1024 },
          allowedModels: ['openai/*'],
          mandatoryByo: ['embedding'],
          limits: { requestsPerMinute: 60, perUser: { tokensPerMinute: 1000 } },
          budgets: [{ id: 'month', scope: 'tenant', period: 'month', limitMicros: 5_000_000, mode: 'hard' }],
        },
      });
      expect((await directory.getTenant(f.tenantB))?.settings).toEqual({
        allowKeyHeader: false,
        allowOperatorFallback: false,
      });
      expect(await directory.getTenant('00000000-0000-4000-8000-000000000000')).toBeUndefined();
      expect(await directory.getTenant("demo' or 1=1 --")).toBeUndefined();
    });

    it('finds users and memberships only within their tenant', async () => {
      expect(await directory.getUser(f.tenantA, f.user)).toEqual({
        id: f.user,
        tenantId: f.tenantA,
        status: 'active',
      });
      expect(await directory.getUser(f.tenantB, f.user)).toBeUndefined();
      expect(await directory.listMemberships(f.tenantA, f.user)).toEqual([
        { groupId: f.group, userId: f.user, useCredentials: true },
      ]);
      expect(await directory.listMemberships(f.tenantB, f.user)).toEqual([]);
    });

    it('finds virtual keys by hash, revoked ones included', async () => {
      expect(await directory.findVirtualKey(f.virtualKeyHash)).toMatchObject({
        tenantId: f.tenantA,
        userId: f.user,
        hash: f.virtualKeyHash,
      });
      const revoked = await directory.findVirtualKey(f.revokedKeyHash);
      expect(revoked?.revokedAt).toEqual(new Date(0));
      expect(revoked?.userId).toBeUndefined();
      expect(await directory.findVirtualKey('0'.repeat(64))).toBeUndefined();
      expect(await directory.findVirtualKey('not-a-hash')).toBeUndefined();
    });

    it("lists every owner's credentials of one tenant and provider, never another tenant's or the operator's", async () => {
      const records = await directory.listCredentials(f.tenantA, 'openai');
      expect(records.map((r) => r.id).sort()).toEqual(
        [f.credentialIds.tenantA, f.credentialIds.user, f.credentialIds.group].sort(),
      );
      expect(records.find((r) => r.id === f.credentialIds.user)).toEqual({
        id: f.credentialIds.user,
        tenantId: f.tenantA,
        owner: { kind: 'user', id: f.user },
        provider: 'openai',
        purpose: 'chat',
        status: 'active',
        hint: `…${f.keys.user.slice(-4)}`,
        fields: { baseURL: 'http://127.0.0.1:9/v1' },
      });
      expect(await directory.listCredentials(f.tenantA, 'anthropic')).toEqual([]);
      expect((await directory.listCredentials(f.tenantB, 'openai')).map((r) => r.id)).toEqual([
        f.credentialIds.tenantB,
      ]);
      for (const key of Object.values(f.keys)) expectNoKeyIn(allRenderings(records), key);
    });

    it('lists operator keys in every status, so an unusable one stops the chain', async () => {
      const keys = await directory.listOperatorKeys('openai');
      expect(keys.map((k) => [k.id, k.purpose, k.status])).toEqual([
        [f.credentialIds.operator, 'any', 'active'],
        [f.credentialIds.revokedOp, 'chat', 'revoked'],
      ]);
      expect(await directory.listOperatorKeys('anthropic')).toEqual([]);
    });

    it('decrypts at call time and records the last use off the request path', async () => {
      const before = await getCredentialMetadata(database.db, f.credentialIds.group);
      expect(before?.lastUsedAt).toBeNull();
      const credential = await directory.open({ kind: 'credential', id: f.credentialIds.group });
      expect(credential.secrets.apiKey?.reveal()).toBe(f.keys.group);
      expect(credential.fields.baseURL).toBe('http://127.0.0.1:9/v1');
      expectNoKeyIn(allRenderings(credential), f.keys.group);
      const operator = await directory.open({ kind: 'operator', id: f.credentialIds.operator });
      expect(operator.secrets.apiKey?.reveal()).toBe(f.keys.operator);
      // Batched: nothing written until the flush.
      expect((await getCredentialMetadata(database.db, f.credentialIds.group))?.lastUsedAt).toBeNull();
      await directory.flushTouches();
      expect((await getCredentialMetadata(database.db, f.credentialIds.group))?.lastUsedAt).toBeInstanceOf(
        Date,
      );
    });

    it('refuses to open a ref of the wrong kind, a missing credential, or a revoked one', async () => {
      await expect(directory.open({ kind: 'operator', id: f.credentialIds.tenantA })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(
        directory.open({ kind: 'credential', id: f.credentialIds.operator }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await expect(directory.open({ kind: 'credential', id: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
      const error = await Promise.resolve(
        directory.open({ kind: 'operator', id: f.credentialIds.revokedOp }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toContain('revoked');
    });

    it('delivers a notice sent in a transaction on commit only', async () => {
      const seen: DirectoryChange[] = [];
      const off = directory.subscribe((change) => seen.push(change));
      try {
        await database.db
          .transaction()
          .execute(async (trx) => {
            await notifyDirectoryChange(trx, { kind: 'tenant', tenantId: 'rolled-back' });
            throw new Error('roll back');
          })
          .catch(() => undefined);
        const committed = nextChange(
          directory,
          (c) => c.kind === 'credentials' && c.tenantId === 'committed',
        );
        await database.db
          .transaction()
          .execute((trx) => notifyDirectoryChange(trx, { kind: 'credentials', tenantId: 'committed' }));
        await committed;
        expect(seen).toEqual([{ kind: 'credentials', tenantId: 'committed' }]);
      } finally {
        off();
      }
    });

    it('a revocation with its notice reaches the cache above on the next request; without one the cache holds', async () => {
      const cached = createDirectoryCache(directory, { ttlMs: 60_000 });
      const { db } = database;
      const statusOf = async () =>
        (await cached.listCredentials(f.tenantA, 'openai')).find((r) => r.id === f.credentialIds.tenantA)
          ?.status;
      expect(await statusOf()).toBe('active');
      // Changed behind the directory's back: the warm cache still answers from memory.
      await setCredentialStatus(db, f.credentialIds.tenantA, 'invalid');
      expect(await statusOf()).toBe('active');
      // The admin path: the write and its notice in one transaction.
      const notice = nextChange(directory, (c) => c.kind === 'credentials');
      await db.transaction().execute(async (trx) => {
        await setCredentialStatus(trx, f.credentialIds.tenantA, 'revoked');
        await notifyDirectoryChange(trx, { kind: 'credentials', tenantId: f.tenantA });
      });
      await notice;
      expect(await statusOf()).toBe('revoked');
      await expect(
        directory.open({ kind: 'credential', id: f.credentialIds.tenantA }),
      ).rejects.toBeInstanceOf(AuthenticationError);
    });

    it('reuses what it opened while the sealed row stands: a replaced key is opened anew after its notice, and the reuse expires', async () => {
      const { db } = database;
      let decrypted = 0;
      const counting: Vault = {
        keyring: vault.keyring,
        seal: (binding, secrets) => vault.seal(binding, secrets),
        reseal: (row) => vault.reseal(row),
        open: (row) => {
          decrypted++;
          return vault.open(row);
        },
      };
      const open = async (dir: StoreDirectory, id: string) =>
        (await dir.open({ kind: 'credential', id })).secrets.apiKey?.reveal();
      const reusing = createStoreDirectory({
        db,
        vault: counting,
        mode: 'shared',
        changes: changeSourceOf(database),
        touchIntervalMs: 60_000,
        openedTtlMs: 60_000,
      });
      const everyCall = createStoreDirectory({ db, vault: counting, mode: 'shared', openedTtlMs: 0 });
      const briefly = createStoreDirectory({ db, vault: counting, mode: 'shared', openedTtlMs: 40 });
      await reusing.ready;
      try {
        const slot = { owner: tenantOwner(f.tenantB), provider: 'openai', purpose: 'chat' as const };
        const first = canaryKey('sk-tenant-b-chat');
        const { id } = await storeCredential(db, vault, { ...slot, secrets: { apiKey: first } });
        for (const dir of [reusing, everyCall, briefly]) await dir.listCredentials(f.tenantB, 'openai');

        decrypted = 0;
        expect(await open(reusing, id)).toBe(first);
        const again = await reusing.open({ kind: 'credential', id });
        expect(again.secrets.apiKey?.reveal()).toBe(first);
        expect(decrypted).toBe(1);
        // What is kept is a Credential of Secrets: no rendering of it shows the key.
        expectNoKeyIn(allRenderings(again), first);

        // The key replaced through the admin path (write and notice in one transaction).
        const second = canaryKey('sk-tenant-b-chat-2');
        const notice = nextChange(reusing, (c) => c.kind === 'credentials' && c.tenantId === f.tenantB);
        await db.transaction().execute(async (trx) => {
          await storeCredential(trx, vault, { ...slot, secrets: { apiKey: second } });
          await notifyDirectoryChange(trx, { kind: 'credentials', tenantId: f.tenantB });
        });
        await notice;
        expect(await open(reusing, id)).toBe(second);
        expect(decrypted).toBe(2);

        // openedTtlMs 0: decrypted on every call; a short one: reused, then decrypted again.
        decrypted = 0;
        await open(everyCall, id);
        await open(everyCall, id);
        expect(decrypted).toBe(2);
        decrypted = 0;
        await open(briefly, id);
        await open(briefly, id);
        expect(decrypted).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 60));
        await open(briefly, id);
        expect(decrypted).toBe(2);
      } finally {
        await Promise.all([reusing.close(), everyCall.close(), briefly.close()]);
      }
    });
  });
}

describe.runIf(BACKENDS.includes('postgres'))('store directory across two instances on postgres', () => {
  let database: TestDatabase;
  let other: Database;
  let a: StoreDirectory;
  let b: StoreDirectory;
  let f: Fixture;
  beforeAll(async () => {
    database = await openTestDatabase('postgres');
    f = await seed(database);
    // A second process's worth: its own pool and its own listening connection.
    other = await createDatabase({ url: database.url!, migrate: false, maxConnections: 2 });
    a = createStoreDirectory({ db: database.db, vault, mode: 'shared', changes: changeSourceOf(database) });
    b = createStoreDirectory({
      db: other.db,
      vault,
      mode: 'shared',
      changes: changeSourceOf(other),
      retryMs: { initial: 20, max: 200 },
    });
    await Promise.all([a.ready, b.ready]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await other?.close();
    await database?.close();
  });

  it("a credential revoked through one instance is revoked in the other's cache on its next request", async () => {
    const cacheA = createDirectoryCache(a, { ttlMs: 60_000 });
    const cacheB = createDirectoryCache(b, { ttlMs: 60_000 });
    const statusIn = async (cache: Directory) =>
      (await cache.listCredentials(f.tenantA, 'openai')).find((r) => r.id === f.credentialIds.group)?.status;
    expect(await statusIn(cacheA)).toBe('active');
    expect(await statusIn(cacheB)).toBe('active');
    expect(
      (await cacheB.open({ kind: 'credential', id: f.credentialIds.group })).secrets.apiKey?.reveal(),
    ).toBe(f.keys.group);
    // Each instance hears the notice on its own connection: wait for both (A is asserted last).
    const forTenant = (c: DirectoryChange) => c.kind === 'credentials' && c.tenantId === f.tenantA;
    const arrived = Promise.all([nextChange(b, forTenant, 10_000), nextChange(a, forTenant, 10_000)]);
    await database.db.transaction().execute(async (trx) => {
      await setCredentialStatus(trx, f.credentialIds.group, 'revoked');
      await notifyDirectoryChange(trx, { kind: 'credentials', tenantId: f.tenantA });
    });
    await arrived;
    expect(await statusIn(cacheB)).toBe('revoked');
    await expect(cacheB.open({ kind: 'credential', id: f.credentialIds.group })).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    expect(await statusIn(cacheA)).toBe('revoked');
  });

  it('reconnects its listener after the server drops it, and drops every cache entry then', async () => {
    const flushed = nextChange(b, (c) => c.kind === 'all', 10_000);
    const killed = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where datname = current_database() and query ilike 'listen keyhold_directory%' and pid <> pg_backend_pid()`.execute(
      database.db,
    );
    expect(killed.rows.length).toBeGreaterThanOrEqual(2);
    await flushed;
    // Listening again: a notice after the reconnection arrives.
    const again = nextChange(b, (c) => c.kind === 'operator-keys', 10_000);
    await notifyDirectoryChange(database.db, { kind: 'operator-keys' });
    await expect(again).resolves.toEqual({ kind: 'operator-keys' });
  });
});
