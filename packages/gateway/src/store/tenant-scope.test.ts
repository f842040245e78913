import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, listAuditEvents } from './audit-log.js';
import { getCredentialRow, listCredentials, tenantOwner, upsertCredential } from './credentials.js';
import { TENANT_ROLE, withTenant } from './tenant-scope.js';
import type { Tenant } from './tenants.js';
import { createTenant, getTenant, listTenants } from './tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from './testing/backends.js';
import { createUser, getUser, listUsers, type User } from './users.js';
import { createVirtualKey, findVirtualKeyByHash } from './virtual-keys.js';

const seal = (id: string) => ({ ciphertext: Buffer.from(`sealed:${id}`), keyVersion: 1, hint: '…abcd' });
const KEY_HASH_B = 'b'.repeat(64);

// PGlite supports roles and row-level security like the server, so this suite runs on both.
for (const backend of BACKENDS) {
  describe(`tenant scope (row-level security) on ${backend}`, () => {
    let database: TestDatabase;
    let a: Tenant;
    let b: Tenant;
    let userB: User;
    let credentialB: string;

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      const { db } = database;
      a = await createTenant(db, { name: 'A' });
      b = await createTenant(db, { name: 'B' });
      await createUser(db, { tenantId: a.id, email: 'a@a.test', name: 'A1', role: 'member' });
      userB = await createUser(db, { tenantId: b.id, email: 'b@b.test', name: 'B1', role: 'member' });
      credentialB = (
        await upsertCredential(db, { owner: tenantOwner(b.id), provider: 'openai', purpose: 'any' }, seal)
      ).id;
      await createVirtualKey(db, {
        tenantId: b.id,
        keyHash: KEY_HASH_B,
        prefix: 'kh_b',
        hint: '…bbbb',
        name: 'b',
      });
      await appendAuditEvent(db, {
        tenantId: b.id,
        actor: 'operator',
        action: 'tenant.create',
        targetId: b.id,
      });
    });
    afterAll(() => database?.close());

    it('runs as the non-superuser tenant role, and only for the transaction', async () => {
      const { db } = database;
      const inside = await withTenant(db, a.id, async (trx) => {
        const { rows } = await sql<{ role: string; superuser: boolean; tenant: string }>`
          select current_user as role, (select rolsuper from pg_roles where rolname = current_user) as superuser,
                 current_setting('keyhold.tenant_id', true) as tenant`.execute(trx);
        return rows[0];
      });
      expect(inside).toEqual({ role: TENANT_ROLE, superuser: false, tenant: a.id });
      const after = await sql<{ role: string; tenant: string | null }>`
        select current_user as role, nullif(current_setting('keyhold.tenant_id', true), '') as tenant`.execute(
        db,
      );
      expect(after.rows[0]?.role).not.toBe(TENANT_ROLE);
      expect(after.rows[0]?.tenant ?? null).toBeNull();
    });

    it('finds nothing of tenant B from A’s scope, even by B’s ids', async () => {
      const { db } = database;
      const seen = await withTenant(db, a.id, async (trx) => ({
        tenants: (await listTenants(trx)).map((t) => t.id),
        tenantB: await getTenant(trx, b.id),
        usersOfB: await listUsers(trx, b.id),
        userB: await getUser(trx, b.id, userB.id),
        forgedWhere: await trx.selectFrom('users').selectAll().where('tenantId', '=', b.id).execute(),
        credentialB: await getCredentialRow(trx, credentialB),
        credentialsOfB: await listCredentials(trx, { tenantId: b.id }),
        keyOfB: await findVirtualKeyByHash(trx, KEY_HASH_B),
        auditOfB: await listAuditEvents(trx, b.id),
        everyUser: (await trx.selectFrom('users').select('tenantId').execute()).map((u) => u.tenantId),
      }));
      expect(seen).toEqual({
        tenants: [a.id],
        tenantB: undefined,
        usersOfB: [],
        userB: undefined,
        forgedWhere: [],
        credentialB: undefined,
        credentialsOfB: [],
        keyOfB: undefined,
        auditOfB: [],
        everyUser: [a.id],
      });
    });

    it('changes nothing of tenant B from A’s scope', async () => {
      const { db } = database;
      const changed = await withTenant(db, a.id, async (trx) => {
        const update = await trx
          .updateTable('users')
          .set({ name: 'hijacked' })
          .where('id', '=', userB.id)
          .executeTakeFirst();
        const remove = await trx.deleteFrom('credentials').where('id', '=', credentialB).executeTakeFirst();
        return [update.numUpdatedRows, remove.numDeletedRows];
      });
      expect(changed).toEqual([0n, 0n]);
      expect((await getUser(db, b.id, userB.id))?.name).toBe('B1');
      expect(await getCredentialRow(db, credentialB)).toBeDefined();
    });

    it('refuses to insert a row of tenant B from A’s scope', async () => {
      const { db } = database;
      await expect(
        withTenant(db, a.id, (trx) =>
          createUser(trx, { tenantId: b.id, email: 'intruder@b.test', name: 'I', role: 'tenant_admin' }),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        withTenant(db, a.id, (trx) =>
          appendAuditEvent(trx, { tenantId: b.id, actor: 'x', action: 'forged' }),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        withTenant(db, a.id, (trx) =>
          trx.updateTable('users').set({ tenantId: b.id }).where('tenantId', '=', a.id).execute(),
        ),
      ).rejects.toThrow(/row-level security/);
      expect((await listUsers(db, b.id)).map((u) => u.email)).toEqual(['b@b.test']);
    });

    it('works normally inside the tenant’s own scope', async () => {
      const { db } = database;
      const result = await withTenant(db, a.id, async (trx) => {
        await createUser(trx, { tenantId: a.id, email: 'a2@a.test', name: 'A2', role: 'member' });
        await appendAuditEvent(trx, { tenantId: a.id, actor: 'user:a', action: 'user.create' });
        return {
          users: (await listUsers(trx, a.id)).length,
          events: (await listAuditEvents(trx, a.id)).length,
        };
      });
      expect(result).toEqual({ users: 2, events: 1 });
    });

    it('denies the tenant role the vault metadata and any change to audit events', async () => {
      const { db } = database;
      await expect(
        withTenant(db, a.id, (trx) => trx.selectFrom('vaultKeys').selectAll().execute()),
      ).rejects.toThrow(/permission denied/);
      await expect(
        withTenant(db, b.id, (trx) => trx.deleteFrom('auditEvents').where('tenantId', '=', b.id).execute()),
      ).rejects.toThrow(/permission denied/);
    });

    it('sees nothing as the tenant role without a tenant setting', async () => {
      const { db } = database;
      const rows = await db.transaction().execute(async (trx) => {
        await sql.raw(`set local role ${TENANT_ROLE}`).execute(trx);
        return trx.selectFrom('users').selectAll().execute();
      });
      expect(rows).toEqual([]);
    });

    it('rejects a tenant id that is not a UUID', async () => {
      await expect(withTenant(database.db, "x' or true --", async () => 1)).rejects.toThrow(TypeError);
    });
  });
}
