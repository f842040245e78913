import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { getAlertWebhookRow } from '../store/alert-webhooks.js';
import { BACKENDS } from '../store/testing/backends.js';
import { dumpDatabase } from '../store/testing/dump-database.js';
import { openWebhookSecret } from '../vault/alert-webhook-secret.js';
import {
  type AdminHarness,
  allAuditEvents,
  type SeededTenant,
  seedTenant,
  startAdmin,
} from './testing/admin-harness.js';

const PATH = '/api/v1/settings/alert-webhook';
const SECRET = /^whsec_[A-Za-z0-9_-]{43}$/;

for (const backend of BACKENDS) {
  describe(`alert webhook admin routes on ${backend}`, () => {
    let h: AdminHarness;
    let a: SeededTenant;
    let b: SeededTenant;
    /** Every secret the API handed out, for the leak checks. */
    const secrets: string[] = [];

    beforeAll(async () => {
      h = await startAdmin(backend);
      a = await seedTenant(h, 'Alpha');
      b = await seedTenant(h, 'Beta');
    });
    afterAll(async () => {
      await h?.close();
    });

    it('shows the secret once, masks it after, rotates it and deletes the webhook', async () => {
      const admin = { key: a.admin.key };
      expect((await h.call(admin, 'GET', PATH)).status).toBe(404);

      const set = await h.call(admin, 'PUT', PATH, { body: { url: 'https://hooks.alpha.example/keyhold' } });
      expect(set.status).toBe(200);
      expect(set.body.secret).toMatch(SECRET);
      const first = set.body.secret as string;
      secrets.push(first);
      expect(set.body).toMatchObject({
        url: 'https://hooks.alpha.example/keyhold',
        masked_secret: `…${first.slice(-4)}`,
      });

      const read = await h.call(admin, 'GET', PATH);
      expect(read.status).toBe(200);
      expect(Object.keys(read.body).sort()).toEqual(['created_at', 'masked_secret', 'updated_at', 'url']);
      expect(read.body.masked_secret).toBe(`…${first.slice(-4)}`);
      expectNoKeyIn(read.text, first);

      // What is stored opens, with the tenant's binding, to the secret the API returned.
      const row = await getAlertWebhookRow(h.database.db, a.id);
      expect(openWebhookSecret(h.vault.keyring, a.id, row!.ciphertext).reveal()).toBe(first);

      const rotated = await h.call(admin, 'POST', `${PATH}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(SECRET);
      expect(rotated.body.secret).not.toBe(first);
      secrets.push(rotated.body.secret);
      expect(rotated.body.url).toBe('https://hooks.alpha.example/keyhold');
      expect(rotated.body.created_at).toBe(read.body.created_at);
      const after = await h.call(admin, 'GET', PATH);
      expect(after.body.masked_secret).toBe(`…${(rotated.body.secret as string).slice(-4)}`);

      // A new URL replaces the secret too; created_at stays.
      const moved = await h.call(admin, 'PUT', PATH, { body: { url: 'https://hooks.alpha.example/v2' } });
      expect(moved.status).toBe(200);
      secrets.push(moved.body.secret);
      expect(moved.body.created_at).toBe(read.body.created_at);

      expect((await h.call(admin, 'DELETE', PATH)).status).toBe(204);
      expect((await h.call(admin, 'GET', PATH)).status).toBe(404);
      expect((await h.call(admin, 'DELETE', PATH)).status).toBe(404);
      expect((await h.call(admin, 'POST', `${PATH}/rotate-secret`)).status).toBe(404);
    });

    it('audits every change with the hint only and announces a tenant change', async () => {
      const actions = (await allAuditEvents(h))
        .filter((e) => e.tenantId === a.id && e.action.startsWith('alert_webhook.'))
        .map((e) => [e.action, e.actor, e.targetId, e.details]);
      expect(actions).toEqual([
        [
          'alert_webhook.set',
          `user:${a.admin.id}`,
          a.id,
          { host: 'hooks.alpha.example', hint: `…${secrets[0]!.slice(-4)}` },
        ],
        ['alert_webhook.rotate_secret', `user:${a.admin.id}`, a.id, { hint: `…${secrets[1]!.slice(-4)}` }],
        [
          'alert_webhook.set',
          `user:${a.admin.id}`,
          a.id,
          { host: 'hooks.alpha.example', hint: `…${secrets[2]!.slice(-4)}` },
        ],
        ['alert_webhook.delete', `user:${a.admin.id}`, a.id, { hint: `…${secrets[2]!.slice(-4)}` }],
      ]);
      expect(
        h.changes.filter((c) => c.kind === 'tenant' && c.tenantId === a.id).length,
      ).toBeGreaterThanOrEqual(4);
    });

    it('lets the operator act for a tenant named in the header, and only then', async () => {
      const missing = await h.call('operator', 'PUT', PATH, { body: { url: 'https://ops.example/h' } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.code).toBe('tenant_required');
      const set = await h.call('operator', 'PUT', PATH, {
        headers: { 'x-keyhold-tenant': b.id },
        body: { url: 'https://hooks.beta.example/h' },
      });
      expect(set.status).toBe(200);
      secrets.push(set.body.secret);
      const seen = await h.call({ key: b.admin.key }, 'GET', PATH);
      expect(seen.body.url).toBe('https://hooks.beta.example/h');
      expect((await allAuditEvents(h)).at(-1)).toMatchObject({ tenantId: b.id, actor: 'operator' });
    });

    it("answers 404 for another tenant's webhook and 403 to members, changing nothing", async () => {
      const before = await getAlertWebhookRow(h.database.db, b.id);
      const foreign = { 'x-keyhold-tenant': b.id };
      for (const [method, path] of [
        ['GET', PATH],
        ['PUT', PATH],
        ['POST', `${PATH}/rotate-secret`],
        ['DELETE', PATH],
      ] as const) {
        const reply = await h.call({ key: a.admin.key }, method, path, {
          headers: foreign,
          ...(method === 'PUT' ? { body: { url: 'https://evil.example/h' } } : {}),
        });
        expect(reply.status, `${method} ${path}`).toBe(404);
        expectNoKeyIn(reply.text, ...secrets);
        const member = await h.call({ key: b.member.key }, method, path, {
          ...(method === 'PUT' ? { body: { url: 'https://evil.example/h' } } : {}),
        });
        expect(member.status, `member ${method} ${path}`).toBe(403);
      }
      // Alpha's own view is its own (none), not Beta's.
      expect((await h.call({ key: a.admin.key }, 'GET', PATH)).status).toBe(404);
      expect(await getAlertWebhookRow(h.database.db, b.id)).toEqual(before);
    });

    it('refuses URLs the egress policy refuses, naming url, until the allow-list permits them', async () => {
      const admin = { key: a.admin.key };
      for (const url of [
        'http://hooks.example/keyhold',
        'https://169.254.169.254/latest/meta-data',
        'http://169.254.169.254/',
        'https://localhost:8443/h',
        'https://127.0.0.1/h',
        'https://2130706433/h',
        'https://0x7f.1/h',
        'https://[::1]/h',
        'https://10.0.0.8/h',
        'https://user:pw@hooks.example/h',
        'https://hooks.example@127.0.0.1/h',
        'ftp://hooks.example/h',
        'not a url',
      ]) {
        const reply = await h.call(admin, 'PUT', PATH, { body: { url } });
        expect(reply.status, url).toBe(400);
        expect(reply.body.error.field, url).toBe('url');
      }
      expect((await h.call(admin, 'GET', PATH)).status).toBe(404);

      expect(
        (await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: ['127.0.0.1'] } }))
          .status,
      ).toBe(200);
      try {
        const allowed = await h.call(admin, 'PUT', PATH, { body: { url: 'http://127.0.0.1:9/hook' } });
        expect(allowed.status).toBe(200);
        secrets.push(allowed.body.secret);
      } finally {
        await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: [] } });
      }
    });

    it('refuses unknown and missing fields', async () => {
      const admin = { key: a.admin.key };
      for (const [body, code, field] of [
        [
          { url: 'https://hooks.example/h', secret: 'whsec_chosen-by-the-caller-000000' },
          'unknown_field',
          'secret',
        ],
        [{ url: 'https://hooks.example/h', tenant_id: b.id }, 'unknown_field', 'tenant_id'],
        [{}, 'invalid_request', 'url'],
        [{ url: '' }, 'invalid_request', 'url'],
        [{ url: 42 }, 'invalid_request', 'url'],
      ] as const) {
        const reply = await h.call(admin, 'PUT', PATH, { body });
        expect(reply.status, JSON.stringify(body)).toBe(400);
        expect(reply.body.error, JSON.stringify(body)).toMatchObject({ code, field });
      }
      const beta = await h.call({ key: b.admin.key }, 'GET', PATH);
      expect(beta.body.url).toBe('https://hooks.beta.example/h');
    });

    it('is in the OpenAPI document', async () => {
      const doc = await h.call('anonymous', 'GET', '/openapi.json');
      expect(Object.keys(doc.body.paths[PATH]).sort()).toEqual(['delete', 'get', 'put']);
      expect(doc.body.paths[`${PATH}/rotate-secret`].post.operationId).toBe('rotateAlertWebhookSecret');
    });

    it('stores no secret in plain text: no dump, log or later response holds 8 characters of one', async () => {
      expect(secrets.length).toBeGreaterThanOrEqual(5);
      const dump = await dumpDatabase(h.database);
      expect(dump).toContain('hooks.beta.example');
      expectNoKeyIn(dump, ...secrets);
      expectNoKeyIn(h.logs.join('\n'), ...secrets);
    });
  });
}
