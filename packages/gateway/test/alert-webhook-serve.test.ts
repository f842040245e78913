import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey, expectNoKeyIn } from '../../core/test/support/leaks.js';
import {
  type RecordedRequest,
  startUpstream,
  type Upstream,
} from '../../core/test/support/upstream-server.js';
import { type Served, serve } from '../src/cli/serve.js';
import { BUDGET_ALERT_ACTION } from '../src/limits/budget-alert-auditor.js';
import { BUDGET_ALERT_EVENT } from '../src/limits/budget-alert-notifier.js';
import { verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from '../src/limits/webhook-signature.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/store/testing/backends.js';
import { dumpDatabase } from '../src/store/testing/dump-database.js';
import { generateMasterKey } from '../src/vault/keyring.js';
import { PROVIDER_CASES } from './support/provider-upstreams.js';

/*
 * `keyhold serve` on the store (no --config): a tenant configures its budget-alert webhook
 * through the admin API, and the 50 / 80 / 100 % alerts reach a local receiver, signed with the
 * secret the API showed once, through the egress guard (the receiver is on loopback, so only the
 * operator's allow-list lets it through), and land in the audit log.
 */

// Azure: a priced provider (a budget only counts priced calls) whose endpoint the admin API takes.
const azure = PROVIDER_CASES.find((c) => c.provider === 'azure')!;
const MODEL = `azure/${azure.model}`;

async function until<T>(read: () => Promise<T[]> | T[], count: number, ms = 15_000): Promise<T[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = await read();
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

for (const backend of BACKENDS) {
  describe(`budget alert webhooks in store mode on ${backend}`, { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-alert-webhook-'));
    const operatorToken = `op-${canaryKey('tok')}`;
    const tenantKey = canaryKey('sk-alert-hook');
    let database: TestDatabase | undefined;
    let upstream: Upstream;
    let receiver: Upstream;
    let served: Served;

    const admin = async (method: string, path: string, body?: unknown, tenant?: string) => {
      const res = await fetch(`${served.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${operatorToken}`,
          ...(tenant ? { 'x-keyhold-tenant': tenant } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
      return { status: res.status, text, body: (text ? JSON.parse(text) : undefined) as any };
    };

    beforeAll(async () => {
      upstream = await startUpstream((r, res) => azure.handle(r, res));
      receiver = await startUpstream((_r, res) => {
        res.writeHead(204);
        res.end();
      });
      const env: Record<string, string> = {
        KEYHOLD_OPERATOR_TOKEN: operatorToken,
        KEYHOLD_LOG_LEVEL: 'error',
      };
      if (backend === 'postgres') {
        database = await openTestDatabase('postgres');
        Object.assign(env, {
          DATABASE_URL: database.url!,
          KEYHOLD_MASTER_KEYS: generateMasterKey().entry,
          KEYHOLD_LEDGER_DIR: join(dir, 'ledger'),
        });
      }
      served = await serve({
        port: 0,
        env,
        ...(backend === 'pglite' ? { dataDir: join(dir, 'data') } : {}),
        print: () => {},
        warn: () => {},
      });
    });
    afterAll(async () => {
      await served?.close();
      await database?.close();
      await upstream?.close();
      await receiver?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('delivers 50, 80 and 100 % alerts signed with the secret shown once, and audits them', async () => {
      const hookUrl = `${receiver.url}/keyhold-alerts`;
      // Before the operator allows loopback, the webhook (and the local upstream) are refused.
      const tenant = await admin('POST', '/api/v1/tenants', {
        name: 'hooked',
        settings: {
          default_model: MODEL,
          // One micro-dollar, soft: the first priced call passes every threshold and none is blocked.
          budgets: [
            { id: 'soft-monthly', scope: 'tenant', period: 'month', limit_usd: 0.000001, mode: 'soft' },
          ],
        },
      });
      expect(tenant.status).toBe(201);
      const tenantId = tenant.body.id as string;
      const refused = await admin('PUT', '/api/v1/settings/alert-webhook', { url: hookUrl }, tenantId);
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe('url');

      expect((await admin('PUT', '/api/v1/egress/allow-list', { hosts: ['127.0.0.1'] })).status).toBe(200);
      const credential = await admin('PUT', `/api/v1/tenants/${tenantId}/credentials/azure`, {
        apiKey: tenantKey,
        ...azure.fields(upstream.url),
      });
      expect(credential.status, credential.text).toBe(200);
      const hook = await admin('PUT', '/api/v1/settings/alert-webhook', { url: hookUrl }, tenantId);
      expect(hook.status).toBe(200);
      const secret = hook.body.secret as string;
      expect(secret).toMatch(/^whsec_/);
      const key = await admin('POST', '/api/v1/virtual-keys', { name: 'app' }, tenantId);
      expect(key.status).toBe(201);

      const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: key.body.key, maxRetries: 0 });
      for (let i = 0; i < 2; i++) {
        const reply = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Hi' }],
        });
        expect(reply.choices[0]?.message.content).toBeTruthy();
      }

      const deliveries = await until(() => receiver.requests, 3);
      // Give a wrongly repeated alert the time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.requests).toHaveLength(3);
      const thresholds: number[] = [];
      for (const delivery of deliveries as RecordedRequest[]) {
        expect(delivery.method).toBe('POST');
        expect(delivery.path).toBe('/keyhold-alerts');
        const body = delivery.rawBody.toString('utf8');
        const signature = delivery.headers[WEBHOOK_SIGNATURE_HEADER] as string;
        expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(verifyWebhook(secret, body, signature)).toBe(true);
        expect(verifyWebhook(`${secret}x`, body, signature)).toBe(false);
        expect(verifyWebhook(secret, body.replace('"threshold"', '"threshold" '), signature)).toBe(false);
        const event = JSON.parse(body);
        expect(event).toMatchObject({
          type: BUDGET_ALERT_EVENT,
          data: {
            tenantId,
            budget: { id: 'soft-monthly', scope: 'tenant', period: 'month', mode: 'soft' },
            limitMicros: 1,
            cause: 'spend',
          },
        });
        expect(delivery.headers['keyhold-webhook-id']).toBe(event.id);
        thresholds.push(event.data.threshold);
        expectNoKeyIn(body + JSON.stringify(delivery.headers), tenantKey, secret);
      }
      expect(thresholds.sort((a, b) => a - b)).toEqual([50, 80, 100]);

      const audit = await until(async () => {
        const events = (await admin('GET', `/api/v1/audit?tenant_id=${tenantId}`)).body.events as Array<{
          action: string;
          details: Record<string, unknown>;
        }>;
        return events.filter((e) => e.action === BUDGET_ALERT_ACTION);
      }, 3);
      expect(audit.map((e) => e.details.threshold).sort()).toEqual([100, 50, 80]);
      const all = await admin('GET', `/api/v1/audit?tenant_id=${tenantId}`);
      expect(all.body.events.map((e: { action: string }) => e.action)).toContain('alert_webhook.set');
      expectNoKeyIn(all.text, secret, tenantKey);

      // The rotated secret signs from the next alert on, on this instance: a new tenant budget
      // period is not needed — a second budget with its own thresholds alerts again.
      const rotated = await admin(
        'POST',
        '/api/v1/settings/alert-webhook/rotate-secret',
        undefined,
        tenantId,
      );
      expect(rotated.status).toBe(200);
      const next = rotated.body.secret as string;
      expect(
        (
          await admin('PATCH', `/api/v1/tenants/${tenantId}`, {
            settings: {
              budgets: [
                { id: 'soft-monthly', scope: 'tenant', period: 'month', limit_usd: 0.000001, mode: 'soft' },
                { id: 'soft-daily', scope: 'tenant', period: 'day', limit_usd: 0.000001, mode: 'soft' },
              ],
            },
          })
        ).status,
      ).toBe(200);
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Again' }] });
      const more = await until(() => receiver.requests, 6);
      expect(more).toHaveLength(6);
      for (const delivery of more.slice(3)) {
        const body = delivery.rawBody.toString('utf8');
        const signature = delivery.headers[WEBHOOK_SIGNATURE_HEADER] as string;
        expect(JSON.parse(body).data.budget.id).toBe('soft-daily');
        expect(verifyWebhook(next, body, signature)).toBe(true);
        expect(verifyWebhook(secret, body, signature)).toBe(false);
      }

      if (database) expectNoKeyIn(await dumpDatabase(database), secret, next, tenantKey);
    });
  });
}
