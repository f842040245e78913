import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findForResolution,
  findOperatorCredentials,
  getCredentialRow,
  groupOwner,
  listCredentials,
  operatorOwner,
  setCredentialStatus,
  tenantOwner,
  upsertCredential,
  userOwner,
} from './credentials.js';
import { createGroup, groupsOfUser, listMembers, setMembership } from './groups.js';
import { migrateToLatest } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { createTenant, deleteTenant, getTenant, listTenants, updateTenant } from './tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from './testing/backends.js';
import { createUser, getUser, listUsers } from './users.js';
import { createVirtualKey, findVirtualKeyByHash, listVirtualKeys, revokeVirtualKey } from './virtual-keys.js';

const fakeSeal = (label: string) => (id: string) => ({
  ciphertext: Buffer.from(`sealed:${label}:${id}`),
  keyVersion: 1,
  hint: '…abcd',
});
const hashOf = () => randomBytes(32).toString('hex');

for (const backend of BACKENDS) {
  describe(`store on ${backend}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase(backend);
    });
    afterAll(() => database?.close());

    it('applies every migration once, in name order', async () => {
      const { db } = database;
      const applied = await sql<{
        name: string;
      }>`select name from kysely_migration order by timestamp, name`.execute(db);
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS).sort());
      expect(await migrateToLatest(db)).toEqual({ applied: [] });
    });

    it('creates, reads, updates, lists and deletes tenants with their settings', async () => {
      const { db } = database;
      const tenant = await createTenant(db, {
        name: 'Acme',
        settings: { allowRequestKeyHeader: true, defaultModel: 'gpt-4o-mini', mandatoryByo: ['embedding'] },
      });
      expect(tenant.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(tenant.status).toBe('active');
      expect(tenant.settings).toEqual({
        allowRequestKeyHeader: true,
        defaultModel: 'gpt-4o-mini',
        mandatoryByo: ['embedding'],
      });
      expect(tenant.createdAt).toBeInstanceOf(Date);

      const updated = await updateTenant(db, tenant.id, {
        status: 'suspended',
        settings: { allowedModels: ['a', 'b'] },
      });
      expect(updated?.status).toBe('suspended');
      expect(updated?.settings).toEqual({ allowedModels: ['a', 'b'] });
      expect((await getTenant(db, tenant.id))?.name).toBe('Acme');
      expect((await listTenants(db)).map((t) => t.id)).toContain(tenant.id);

      expect(await deleteTenant(db, tenant.id)).toBe(true);
      expect(await getTenant(db, tenant.id)).toBeUndefined();
      expect(await deleteTenant(db, tenant.id)).toBe(false);
    });

    it('refuses a membership that joins a group and a user of different tenants', async () => {
      const { db } = database;
      const a = await createTenant(db, { name: 'A' });
      const b = await createTenant(db, { name: 'B' });
      const userB = await createUser(db, { tenantId: b.id, email: 'u@b.test', name: 'U', role: 'member' });
      const groupA = await createGroup(db, { tenantId: a.id, name: 'eng' });
      await expect(
        setMembership(db, { tenantId: a.id, groupId: groupA.id, userId: userB.id, mayUseCredentials: true }),
      ).rejects.toThrow();
      expect(await getUser(db, a.id, userB.id)).toBeUndefined();
      expect(await listMembers(db, a.id, groupA.id)).toEqual([]);
    });

    it('stores virtual keys by hash and revokes them once', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Keys' });
      const user = await createUser(db, {
        tenantId: tenant.id,
        email: 'k@k.test',
        name: 'K',
        role: 'tenant_admin',
      });
      const keyHash = hashOf();
      const created = await createVirtualKey(db, {
        tenantId: tenant.id,
        userId: user.id,
        keyHash,
        prefix: 'kh_live_ab12',
        hint: '…wxyz',
        name: 'ci',
      });
      expect(created).toMatchObject({
        tenantId: tenant.id,
        userId: user.id,
        revokedAt: null,
        expiresAt: null,
      });
      expect((await findVirtualKeyByHash(db, keyHash))?.id).toBe(created.id);
      expect(await findVirtualKeyByHash(db, hashOf())).toBeUndefined();
      await expect(
        createVirtualKey(db, { tenantId: tenant.id, keyHash, prefix: 'p', hint: '…', name: 'dup' }),
      ).rejects.toThrow();
      expect(await revokeVirtualKey(db, tenant.id, created.id)).toBe(true);
      expect(await revokeVirtualKey(db, tenant.id, created.id)).toBe(false);
      expect((await listVirtualKeys(db, tenant.id))[0]?.revokedAt).toBeInstanceOf(Date);
    });

    it('keeps one credential per owner, provider and purpose, and lists no ciphertext', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Creds' });
      const slot = { owner: tenantOwner(tenant.id), provider: 'openai', purpose: 'any' as const };
      const first = await upsertCredential(db, slot, fakeSeal('one'));
      await setCredentialStatus(db, first.id, 'invalid');
      const second = await upsertCredential(
        db,
        { ...slot, fields: { baseURL: 'https://example.test/v1' } },
        fakeSeal('two'),
      );
      expect(second.id).toBe(first.id);
      expect(second.status).toBe('active');
      expect(second.fields).toEqual({ baseURL: 'https://example.test/v1' });
      const row = await getCredentialRow(db, first.id);
      expect(Buffer.isBuffer(row?.ciphertext)).toBe(true);
      expect(row?.ciphertext.toString()).toBe(`sealed:two:${first.id}`);

      const listed = await listCredentials(db, { tenantId: tenant.id });
      expect(listed).toHaveLength(1);
      expect(listed[0]).not.toHaveProperty('ciphertext');
      expect(listed[0]).toMatchObject({
        provider: 'openai',
        ownerKind: 'tenant',
        hint: '…abcd',
        keyVersion: 1,
      });
    });

    it('gives racing writers of an empty slot one row whose ciphertext was sealed for its id', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Race' });
      const slot = { owner: tenantOwner(tenant.id), provider: 'mistral', purpose: 'any' as const };
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => upsertCredential(db, slot, fakeSeal(String(i)))),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      const row = await getCredentialRow(db, results[0]!.id);
      expect(row?.ciphertext.toString()).toMatch(new RegExp(`:${results[0]!.id}$`));
    });

    it('refuses a credential whose owner is not in the tenant', async () => {
      const { db } = database;
      const a = await createTenant(db, { name: 'OwnerA' });
      const b = await createTenant(db, { name: 'OwnerB' });
      const userB = await createUser(db, { tenantId: b.id, email: 'x@b.test', name: 'X', role: 'member' });
      await expect(
        upsertCredential(
          db,
          { owner: userOwner(a.id, userB.id), provider: 'openai', purpose: 'any' },
          fakeSeal('x'),
        ),
      ).rejects.toThrow('does not exist in this tenant');
      expect(await listCredentials(db, { tenantId: a.id })).toEqual([]);
    });

    it('returns resolution candidates in chain order: user, usable groups, tenant', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Chain' });
      const user = await createUser(db, {
        tenantId: tenant.id,
        email: 'c@c.test',
        name: 'C',
        role: 'member',
      });
      const usable = await createGroup(db, { tenantId: tenant.id, name: 'usable' });
      const notUsable = await createGroup(db, { tenantId: tenant.id, name: 'not-usable' });
      await setMembership(db, {
        tenantId: tenant.id,
        groupId: usable.id,
        userId: user.id,
        mayUseCredentials: true,
      });
      await setMembership(db, {
        tenantId: tenant.id,
        groupId: notUsable.id,
        userId: user.id,
        mayUseCredentials: false,
      });
      const put = (
        owner: ReturnType<typeof tenantOwner>,
        purpose: 'any' | 'chat' | 'embedding',
        provider = 'openai',
      ) => upsertCredential(db, { owner, provider, purpose }, fakeSeal(purpose));
      const tenantAny = await put(tenantOwner(tenant.id), 'any');
      const tenantEmbedding = await put(tenantOwner(tenant.id), 'embedding');
      const groupChat = await put(groupOwner(tenant.id, usable.id), 'chat');
      await put(groupOwner(tenant.id, notUsable.id), 'any');
      const userAny = await put(userOwner(tenant.id, user.id), 'any');
      const userChat = await put(userOwner(tenant.id, user.id), 'chat');
      await put(userOwner(tenant.id, user.id), 'any', 'anthropic');
      await setCredentialStatus(db, userChat.id, 'revoked');

      const groupIds = (await groupsOfUser(db, tenant.id, user.id)).map((m) => m.groupId);
      expect(groupIds).toHaveLength(2);
      const chat = await findForResolution(db, {
        tenantId: tenant.id,
        userId: user.id,
        groupIds,
        provider: 'openai',
        operation: 'chat',
      });
      expect(chat.map((c) => [c.id, c.link])).toEqual([
        [userChat.id, 'user'],
        [userAny.id, 'user'],
        [groupChat.id, 'group'],
        [tenantAny.id, 'tenant'],
      ]);
      expect(chat[0]?.status).toBe('revoked');
      expect(Buffer.isBuffer(chat[0]?.ciphertext)).toBe(true);

      const embedding = await findForResolution(db, {
        tenantId: tenant.id,
        groupIds: [],
        provider: 'openai',
        operation: 'embedding',
      });
      expect(embedding.map((c) => c.id)).toEqual([tenantEmbedding.id, tenantAny.id]);
    });

    it('keeps operator credentials apart from every tenant', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Op' });
      const operatorKey = await upsertCredential(
        db,
        { owner: operatorOwner(), provider: 'groq', purpose: 'any' },
        fakeSeal('op'),
      );
      expect(operatorKey.tenantId).toBeNull();
      expect(
        await findForResolution(db, {
          tenantId: tenant.id,
          groupIds: [],
          provider: 'groq',
          operation: 'chat',
        }),
      ).toEqual([]);
      expect((await findOperatorCredentials(db, 'groq', 'chat')).map((c) => [c.id, c.link])).toEqual([
        [operatorKey.id, 'operator'],
      ]);
      expect((await listCredentials(db, { tenantId: null })).map((c) => c.id)).toEqual([operatorKey.id]);
    });

    it('deletes a tenant with its users, keys and credentials', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'Gone' });
      await createUser(db, { tenantId: tenant.id, email: 'g@g.test', name: 'G', role: 'member' });
      await createVirtualKey(db, {
        tenantId: tenant.id,
        keyHash: hashOf(),
        prefix: 'p',
        hint: '…',
        name: 'k',
      });
      await upsertCredential(
        db,
        { owner: tenantOwner(tenant.id), provider: 'openai', purpose: 'any' },
        fakeSeal('g'),
      );
      await deleteTenant(db, tenant.id);
      expect(await listUsers(db, tenant.id)).toEqual([]);
      expect(await listVirtualKeys(db, tenant.id)).toEqual([]);
      expect(await listCredentials(db, { tenantId: tenant.id })).toEqual([]);
    });
  });
}
