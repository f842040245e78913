import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, canonicalJson, listAuditEvents, verifyAuditChain } from './audit-log.js';
import type { Schema } from './schema.js';
import { createTenant } from './tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from './testing/backends.js';

/** What an attacker with table access does: switch the append-only trigger off, then edit. */
async function tamper(db: Kysely<Schema>, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(trx);
  });
}

async function chainOf(db: Kysely<Schema>, events: number): Promise<string> {
  const tenant = await createTenant(db, { name: 'audited' });
  for (let i = 0; i < events; i++) {
    await appendAuditEvent(db, {
      tenantId: tenant.id,
      actor: 'operator',
      action: 'credential.set',
      targetId: `target-${i}`,
      details: { provider: 'openai', hint: '…abcd', n: i, nested: { b: 1, a: [1, 'x'] } },
    });
  }
  return tenant.id;
}

for (const backend of BACKENDS) {
  describe(`audit log on ${backend}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase(backend);
    });
    afterAll(() => database?.close());

    it('links every event to the previous one of its chain', async () => {
      const { db } = database;
      const tenantId = await chainOf(db, 3);
      await appendAuditEvent(db, {
        tenantId: null,
        actor: 'operator',
        action: 'tenant.create',
        targetId: tenantId,
      });
      const events = await listAuditEvents(db, tenantId);
      expect(events.map((e) => e.position)).toEqual([3, 2, 1]);
      expect(events[2]?.prevHash).toBeNull();
      expect(events[1]?.prevHash).toBe(events[2]?.hash);
      expect(events[0]?.prevHash).toBe(events[1]?.hash);
      const first = events[2]!;
      const expected = createHash('sha256')
        .update(
          canonicalJson({
            tenantId,
            position: 1,
            actor: 'operator',
            action: 'credential.set',
            targetId: 'target-0',
            details: first.details,
            createdAt: first.createdAt.toISOString(),
          }),
        )
        .digest('hex');
      expect(first.hash).toBe(expected);
      const operatorEvents = await listAuditEvents(db, null);
      expect(operatorEvents.map((e) => [e.position, e.prevHash])).toEqual([[1, null]]);
      const verified = await verifyAuditChain(db, tenantId);
      expect(verified).toEqual({
        ok: true,
        events: 3,
        heads: [{ tenantId, position: 3, hash: events[0]?.hash }],
      });
      const everyChain = await verifyAuditChain(db);
      expect(everyChain).toMatchObject({ ok: true, events: 4 });
      expect(everyChain.ok && everyChain.heads.map((h) => h.tenantId).sort()).toEqual(
        [tenantId, null].sort(),
      );
    });

    it('is append-only in the database itself', async () => {
      const { db } = database;
      const tenantId = await chainOf(db, 1);
      await expect(
        sql`update audit_events set action = 'x' where tenant_id = ${tenantId}`.execute(db),
      ).rejects.toThrow(/append-only/);
      await expect(sql`delete from audit_events where tenant_id = ${tenantId}`.execute(db)).rejects.toThrow(
        /append-only/,
      );
      await expect(sql`truncate audit_events`.execute(db)).rejects.toThrow(/append-only/);
      expect(await verifyAuditChain(db, tenantId)).toMatchObject({ ok: true, events: 1 });
    });

    it('detects an edited event', async () => {
      const { db } = database;
      const tenantId = await chainOf(db, 4);
      await tamper(
        db,
        sql`update audit_events set details = '{"provider":"anthropic","hint":"…abcd"}' where tenant_id = ${tenantId} and position = 2`,
      );
      expect(await verifyAuditChain(db, tenantId)).toMatchObject({
        ok: false,
        position: 2,
        problem: 'hash_mismatch',
      });
    });

    it('detects an edited event whose own hash was recomputed', async () => {
      const { db } = database;
      const tenantId = await chainOf(db, 4);
      await tamper(
        db,
        sql`update audit_events set hash = ${'0'.repeat(64)} where tenant_id = ${tenantId} and position = 2`,
      );
      const result = await verifyAuditChain(db, tenantId);
      expect(result).toMatchObject({ ok: false, position: 2 });
      // Even a forger who makes event 2 self-consistent breaks the link from event 3.
      const [second] = await listAuditEvents(db, tenantId, { beforePosition: 3, limit: 1 });
      const forged = { ...second!, actor: 'someone-else' };
      const forgedHash = createHash('sha256')
        .update(forged.prevHash ?? '')
        .update(
          canonicalJson({
            tenantId,
            position: 2,
            actor: forged.actor,
            action: forged.action,
            targetId: forged.targetId,
            details: forged.details,
            createdAt: forged.createdAt.toISOString(),
          }),
        )
        .digest('hex');
      await tamper(
        db,
        sql`update audit_events set actor = ${forged.actor}, hash = ${forgedHash} where tenant_id = ${tenantId} and position = 2`,
      );
      expect(await verifyAuditChain(db, tenantId)).toMatchObject({
        ok: false,
        position: 3,
        problem: 'broken_link',
      });
    });

    it('detects a deleted event', async () => {
      const { db } = database;
      const tenantId = await chainOf(db, 4);
      await tamper(db, sql`delete from audit_events where tenant_id = ${tenantId} and position = 2`);
      expect(await verifyAuditChain(db, tenantId)).toMatchObject({
        ok: false,
        position: 3,
        problem: 'missing_event',
      });
      expect(await verifyAuditChain(db)).toMatchObject({ ok: false });
    });

    it('keeps one unbroken chain under concurrent appends', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'busy' });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          appendAuditEvent(db, { tenantId: tenant.id, actor: `user:${i}`, action: 'virtual_key.create' }),
        ),
      );
      const events = await listAuditEvents(db, tenant.id);
      expect(events.map((e) => e.position).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(await verifyAuditChain(db, tenant.id)).toMatchObject({ ok: true, events: 20 });
    });
  });
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});
