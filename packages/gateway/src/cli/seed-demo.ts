import { type Kysely, sql } from 'kysely';
import { generateVirtualKey } from '../auth/virtual-key.js';
import { appendAuditEvent } from '../store/audit-log.js';
import { operatorOwner } from '../store/credentials.js';
import type { Schema } from '../store/schema.js';
import { createTenant } from '../store/tenants.js';
import { createUser } from '../store/users.js';
import { createVirtualKey } from '../store/virtual-keys.js';
import { storeCredential } from '../vault/store-credential.js';
import type { Vault } from '../vault/vault.js';

/** The demo's model catalogue: the alias `demo` names the offline fake provider's echo model. */
export const DEMO_CATALOGUE = { aliases: { demo: 'fake/echo-1' }, list: ['fake/echo-1'] } as const;

export const DEMO_TENANT_NAME = 'demo';

export type DemoState =
  /** Seeded just now: the key is shown once. */
  | { kind: 'seeded'; tenantId: string; virtualKey: string }
  /** The demo tenant exists from an earlier run. */
  | { kind: 'exists'; tenantId: string; keys: Array<{ prefix: string; hint: string }> }
  /** The store holds other data (not a first run) and no demo tenant. */
  | { kind: 'absent' };

const ACTOR = 'system:first-run';

/**
 * Seeds the demo into an empty store: tenant `demo` (operator fallback on, default model
 * `demo`), a user, the `fake` provider as an operator credential sealed by the vault, and a
 * fresh virtual key for that user. A store that already holds tenants or credentials is left
 * alone. One transaction under an advisory lock, so two instances starting together seed once.
 */
export async function seedDemo(db: Kysely<Schema>, vault: Vault): Promise<DemoState> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended('keyhold.seed-demo', 0))`.execute(trx);
    const demo = await trx
      .selectFrom('tenants')
      .select('id')
      .where('name', '=', DEMO_TENANT_NAME)
      .executeTakeFirst();
    if (demo) {
      const keys = await trx
        .selectFrom('virtualKeys')
        .select(['prefix', 'hint'])
        .where('tenantId', '=', demo.id)
        .where('revokedAt', 'is', null)
        .orderBy('createdAt')
        .execute();
      return { kind: 'exists', tenantId: demo.id, keys };
    }
    const anyTenant = await trx.selectFrom('tenants').select('id').limit(1).executeTakeFirst();
    const anyCredential = await trx.selectFrom('credentials').select('id').limit(1).executeTakeFirst();
    if (anyTenant || anyCredential) return { kind: 'absent' };

    const tenant = await createTenant(trx, {
      name: DEMO_TENANT_NAME,
      settings: { allowOperatorFallback: true, defaultModel: 'demo' },
    });
    await appendAuditEvent(trx, {
      tenantId: tenant.id,
      actor: ACTOR,
      action: 'tenant.create',
      targetId: tenant.id,
    });
    const user = await createUser(trx, {
      tenantId: tenant.id,
      email: 'demo@keyhold.invalid',
      name: 'Demo user',
      role: 'tenant_admin',
    });
    await appendAuditEvent(trx, {
      tenantId: tenant.id,
      actor: ACTOR,
      action: 'user.create',
      targetId: user.id,
    });
    // The fake provider accepts any key; this one is a placeholder, sealed like any other.
    const credential = await storeCredential(trx, vault, {
      owner: operatorOwner(),
      provider: 'fake',
      purpose: 'any',
      secrets: { apiKey: 'fake-demo-key' },
    });
    await appendAuditEvent(trx, {
      tenantId: null,
      actor: ACTOR,
      action: 'operator_credential.set',
      targetId: credential.id,
      details: { provider: 'fake', hint: credential.hint },
    });
    const generated = generateVirtualKey();
    const key = await createVirtualKey(trx, {
      tenantId: tenant.id,
      userId: user.id,
      keyHash: generated.hash,
      prefix: generated.prefix,
      hint: generated.hint,
      name: 'demo',
    });
    await appendAuditEvent(trx, {
      tenantId: tenant.id,
      actor: ACTOR,
      action: 'virtual_key.create',
      targetId: key.id,
      details: { prefix: key.prefix, hint: key.hint },
    });
    return { kind: 'seeded', tenantId: tenant.id, virtualKey: generated.key };
  });
}
