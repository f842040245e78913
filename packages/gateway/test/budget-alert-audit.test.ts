import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../core/test/support/leaks.js';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { generateVirtualKey } from '../src/auth/virtual-key.js';
import { createGateway, type Gateway } from '../src/create-gateway.js';
import { createLogger } from '../src/http/logger.js';
import {
  BUDGET_ALERT_ACTION,
  BUDGET_ALERT_ACTOR,
  createBudgetAlertAuditor,
} from '../src/limits/budget-alert-auditor.js';
import type { BudgetAlert } from '../src/limits/budgets.js';
import { listAuditEvents, verifyAuditChain } from '../src/store/audit-log.js';
import { tenantOwner } from '../src/store/credentials.js';
import { changeSourceOf } from '../src/store/directory-changes.js';
import { createStoreDirectory } from '../src/store/store-directory.js';
import { createTenant } from '../src/store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/store/testing/backends.js';
import { createVirtualKey } from '../src/store/virtual-keys.js';
import { checkKeyring } from '../src/vault/key-check.js';
import { createKeyring } from '../src/vault/keyring.js';
import { storeCredential } from '../src/vault/store-credential.js';
import { createVault } from '../src/vault/vault.js';
import { PROVIDER_CASES } from './support/provider-upstreams.js';

const openai = PROVIDER_CASES.find((c) => c.provider === 'openai')!;
const MODEL = `openai/${openai.model}`;

async function waitFor<T>(read: () => Promise<T[]>, count: number): Promise<T[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rows = await read();
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const backend of BACKENDS) {
  describe(`budget alerts in the audit log on ${backend}`, () => {
    let database: TestDatabase;
    let upstream: Upstream;
    let gateway: Gateway;
    let url: string;
    let tenantId: string;
    const tenantKey = canaryKey('sk-budget-audit');
    const virtualKey = generateVirtualKey();
    const logs: string[] = [];

    beforeAll(async () => {
      upstream = await startUpstream((r, res) => openai.handle(r, res));
      database = await openTestDatabase(backend);
      const { db } = database;
      const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
      await checkKeyring(db, vault.keyring);
      const tenant = await createTenant(db, {
        name: 'budgeted',
        settings: {
          defaultModel: MODEL,
          // One micro-dollar: the first priced call passes 50, 80 and 100 % at once. Soft: never blocks.
          budgets: [{ id: 'soft-monthly', scope: 'tenant', period: 'month', limitMicros: 1, mode: 'soft' }],
        },
      });
      tenantId = tenant.id;
      await storeCredential(db, vault, {
        owner: tenantOwner(tenantId),
        provider: 'openai',
        purpose: 'any',
        secrets: { apiKey: tenantKey },
        fields: openai.fields(upstream.url),
      });
      await createVirtualKey(db, {
        tenantId,
        userId: null,
        keyHash: virtualKey.hash,
        prefix: virtualKey.prefix,
        hint: virtualKey.hint,
        name: 'app',
      });
      const directory = createStoreDirectory({
        db,
        vault,
        mode: 'shared',
        changes: changeSourceOf(database),
      });
      await directory.ready;
      gateway = createGateway({
        directory,
        logger: createLogger({ level: 'debug', destination: { write: (line: string) => logs.push(line) } }),
        maxRetries: 0,
        onBudgetAlert: createBudgetAlertAuditor({ db }),
      });
      url = await gateway.listen({ port: 0 });
    });
    afterAll(async () => {
      await gateway?.close();
      await database?.close();
      await upstream?.close();
    });

    it('records each threshold once in the tenant chain, as system:budgets, with amounts and no secret', async () => {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: virtualKey.key, maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        const reply = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Hi' }],
        });
        expect(reply.choices[0]?.message.content).toBeTruthy();
      }
      const alerts = await waitFor(
        async () =>
          (await listAuditEvents(database.db, tenantId)).filter((e) => e.action === BUDGET_ALERT_ACTION),
        3,
      );
      // Give a wrongly repeated alert the time to show up.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const final = (await listAuditEvents(database.db, tenantId)).filter(
        (e) => e.action === BUDGET_ALERT_ACTION,
      );
      expect(final).toHaveLength(3);
      expect(alerts.map((e) => e.details.threshold).sort()).toEqual([100, 50, 80]);
      const month = new Date().toISOString().slice(0, 7);
      for (const event of alerts) {
        expect(event).toMatchObject({
          tenantId,
          actor: BUDGET_ALERT_ACTOR,
          action: 'budget.alert',
          targetId: 'soft-monthly',
        });
        expect(event.details).toMatchObject({
          scope: 'tenant',
          scope_id: tenantId,
          period: 'month',
          period_key: month,
          mode: 'soft',
          limit_micros: 1,
          cause: 'spend',
        });
        expect(event.details.spent_micros).toBeGreaterThanOrEqual(1);
        expect(JSON.stringify(event)).not.toContain(tenantKey);
      }
      const chain = await verifyAuditChain(database.db, tenantId);
      expect(chain.ok).toBe(true);
      for (const line of logs) expect(line).not.toContain(tenantKey);
    });
  });

  describe(`budget alert auditor on ${backend}`, () => {
    it('reports a failed write to onError and never throws at the caller', async () => {
      const database = await openTestDatabase(backend);
      await database.close();
      const errors: unknown[] = [];
      const audit = createBudgetAlertAuditor({ db: database.db, onError: (e) => errors.push(e) });
      const alert: BudgetAlert = {
        budget: {
          id: '00000000-0000-4000-8000-000000000001/b',
          scope: { kind: 'tenant', id: '00000000-0000-4000-8000-000000000001' },
          period: 'day',
          limitMicros: 10,
          mode: 'hard',
        },
        window: { key: '2026-03-01', startMs: 0, endMs: 1 },
        threshold: 100,
        spentMicros: 10,
        limitMicros: 10,
        cause: 'blocked',
      };
      expect(() => audit(alert)).not.toThrow();
      const deadline = Date.now() + 5_000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(errors).toHaveLength(1);
    });
  });
}
