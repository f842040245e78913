import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsrfPolicy } from '../egress/ssrf-policy.js';
import { verifyAuditChain } from '../store/audit-log.js';
import { getTenant } from '../store/tenants.js';
import { BACKENDS } from '../store/testing/backends.js';
import { createKeyring } from '../vault/keyring.js';
import { createVault } from '../vault/vault.js';
import { createAdminApi } from './admin-api.js';
import {
  type AdminHarness,
  allAuditEvents,
  type SeededTenant,
  seedTenant,
  startAdmin,
} from './testing/admin-harness.js';

describe('admin API switched off', () => {
  it('registers nothing without an operator token: every admin path is a plain 404', async () => {
    for (const operatorToken of [undefined, '']) {
      const app = Fastify();
      await app.register(
        createAdminApi({
          db: undefined as never,
          vault: createVault({ keyring: createKeyring([{ version: 1, key: Buffer.alloc(32, 7) }]) }),
          ssrf: createSsrfPolicy(),
          ...(operatorToken === undefined ? {} : { operatorToken }),
        }),
      );
      for (const url of ['/api/v1/providers', '/api/v1/tenants', '/openapi.json']) {
        const response = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer x' } });
        expect(response.statusCode, url).toBe(404);
      }
      expect(app.printRoutes()).not.toContain('tenants');
      await app.close();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`admin API on ${backend}: happy paths`, () => {
    let h: AdminHarness;
    let acme: SeededTenant;
    beforeAll(async () => {
      h = await startAdmin(backend);
      acme = await seedTenant(h, 'Acme');
    });
    afterAll(() => h?.close());

    it('creates a tenant with its first credential, default model and parameters and monthly budget in one call', async () => {
      const before = (await allAuditEvents(h)).length;
      const created = await h.call('operator', 'POST', '/api/v1/tenants', {
        body: {
          name: 'Globex',
          settings: {
            default_model: 'openai/gpt-4o-mini',
            default_parameters: { max_tokens: 512, temperature: 0.2 },
            monthly_budget_usd: 250.5,
          },
          credential: { provider: 'openai', apiKey: 'sk-first-credential-0001' },
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Globex',
        status: 'active',
        settings: {
          default_model: 'openai/gpt-4o-mini',
          default_parameters: { max_tokens: 512, temperature: 0.2 },
          monthly_budget_usd: 250.5,
        },
        credential: { provider: 'openai', owner: { kind: 'tenant' }, masked_key: '…0001', status: 'active' },
      });
      const stored = await getTenant(h.database.db, created.body.id);
      expect(stored?.settings).toMatchObject({
        defaultModel: 'openai/gpt-4o-mini',
        defaultParameters: { maxTokens: 512, temperature: 0.2 },
        budgets: [
          { id: 'tenant-monthly', scope: 'tenant', period: 'month', limitMicros: 250_500_000, mode: 'hard' },
        ],
      });
      const events = (await allAuditEvents(h)).slice(before);
      expect(events.map((e) => [e.action, e.actor, e.tenantId])).toEqual([
        ['tenant.create', 'operator', created.body.id],
        ['credential.set', 'operator', created.body.id],
      ]);
      expect(h.changes).toContainEqual({ kind: 'credentials', tenantId: created.body.id });
    });

    it('refuses a tenant whose first credential is incomplete, and creates nothing', async () => {
      const before = await h.database.db.selectFrom('tenants').select('id').execute();
      const r = await h.call('operator', 'POST', '/api/v1/tenants', {
        body: { name: 'Initech', credential: { provider: 'azure', apiKey: 'k-azure-1234' } },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe('credential.endpoint');
      expect(await h.database.db.selectFrom('tenants').select('id').execute()).toHaveLength(before.length);
    });

    it('reads, lists, renames, suspends, activates and deletes tenants', async () => {
      const t = await h.call('operator', 'POST', '/api/v1/tenants', { body: { name: 'Temp' } });
      const id = t.body.id as string;
      expect((await h.call('operator', 'GET', `/api/v1/tenants/${id}`)).body.name).toBe('Temp');
      const list = await h.call('operator', 'GET', '/api/v1/tenants?limit=1000');
      expect(list.body.tenants.map((x: { id: string }) => x.id)).toContain(id);
      const renamed = await h.call('operator', 'PATCH', `/api/v1/tenants/${id}`, {
        body: { name: 'Temp 2', settings: { allow_operator_fallback: true } },
      });
      expect(renamed.body).toMatchObject({ name: 'Temp 2', settings: { allow_operator_fallback: true } });
      expect((await h.call('operator', 'POST', `/api/v1/tenants/${id}/suspend`)).body.status).toBe(
        'suspended',
      );
      expect((await h.call('operator', 'POST', `/api/v1/tenants/${id}/activate`)).body.status).toBe('active');
      expect((await h.call('operator', 'DELETE', `/api/v1/tenants/${id}`)).status).toBe(204);
      expect((await h.call('operator', 'GET', `/api/v1/tenants/${id}`)).status).toBe(404);
      expect(await getTenant(h.database.db, id)).toBeUndefined();
      const events = await allAuditEvents(h);
      expect(events.at(-1)).toMatchObject({ action: 'tenant.delete', tenantId: null, targetId: id });
    });

    it('rate limits and budgets: the operator sets them, they read back, a tenant admin cannot', async () => {
      const t = await seedTenant(h, 'Limited');
      const keyId = '0b7f6a52-6a53-4f57-9d3b-3f1f3c1b2a11';
      const settings = {
        rate_limits: {
          requests_per_minute: 600,
          tokens_per_minute: 100_000,
          per_user: { requests_per_minute: 60 },
          per_key: { tokens_per_minute: 20_000 },
          keys: { [keyId]: { requests_per_minute: 5 } },
        },
        budgets: [
          { id: 'daily', scope: 'tenant', period: 'day', limit_usd: 12.5, mode: 'hard' },
          { id: 'per-user', scope: 'user', period: 'month', limit_usd: 40, mode: 'soft' },
        ],
        monthly_budget_usd: 300,
      };
      const set = await h.call('operator', 'PATCH', `/api/v1/tenants/${t.id}`, { body: { settings } });
      expect(set.status).toBe(200);
      expect(set.body.settings).toMatchObject({
        rate_limits: settings.rate_limits,
        monthly_budget_usd: 300,
        budgets: [
          ...settings.budgets,
          { id: 'tenant-monthly', scope: 'tenant', period: 'month', limit_usd: 300 },
        ],
      });
      const stored = (await getTenant(h.database.db, t.id))?.settings;
      expect(stored?.limits).toEqual({
        requestsPerMinute: 600,
        tokensPerMinute: 100_000,
        perUser: { requestsPerMinute: 60 },
        perKey: { tokensPerMinute: 20_000 },
        keys: { [keyId]: { requestsPerMinute: 5 } },
      });
      expect(stored?.budgets).toContainEqual({
        id: 'daily',
        scope: 'tenant',
        period: 'day',
        limitMicros: 12_500_000,
        mode: 'hard',
      });
      const twice = await h.call('operator', 'PATCH', `/api/v1/tenants/${t.id}`, {
        body: { settings: { budgets: [settings.budgets[0], settings.budgets[0]] } },
      });
      expect(twice.status).toBe(400);
      expect(twice.body.error.field).toBe('budgets.1.id');
      const zero = await h.call('operator', 'PATCH', `/api/v1/tenants/${t.id}`, {
        body: { settings: { rate_limits: { requests_per_minute: 0 } } },
      });
      expect(zero.status).toBe(400);
      for (const field of ['rate_limits', 'budgets'] as const) {
        const raise = await h.call({ key: t.admin.key }, 'PATCH', '/api/v1/settings', {
          body: { [field]: settings[field] },
        });
        expect(raise.status).toBe(400);
      }
      expect((await getTenant(h.database.db, t.id))?.settings.limits).toEqual(stored?.limits);
    });

    it("a suspended tenant's admin is refused", async () => {
      const t = await seedTenant(h, 'Suspendo');
      expect((await h.call({ key: t.admin.key }, 'GET', '/api/v1/users')).status).toBe(200);
      await h.call('operator', 'POST', `/api/v1/tenants/${t.id}/suspend`);
      const r = await h.call({ key: t.admin.key }, 'GET', '/api/v1/users');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('tenant_suspended');
    });

    it('lists providers with the credential fields forms need', async () => {
      const r = await h.call({ key: acme.member.key }, 'GET', '/api/v1/providers');
      expect(r.status).toBe(200);
      const azure = r.body.providers.find((p: { id: string }) => p.id === 'azure');
      expect(
        azure.credential_fields.map((f: { name: string; required: boolean }) => [f.name, f.required]),
      ).toEqual([
        ['apiKey', true],
        ['endpoint', true],
        ['apiVersion', true],
        ['deployment', true],
      ]);
      expect(azure.credential_fields[0]).toMatchObject({ label: 'API key', secret: true, kind: 'key' });
      const bedrock = r.body.providers.find((p: { id: string }) => p.id === 'bedrock');
      expect(bedrock.credential_alternatives).toEqual([['apiKey'], ['accessKeyId', 'secretAccessKey']]);
    });

    it('sets, lists and deletes tenant credentials per provider and purpose', async () => {
      const base = `/api/v1/tenants/${acme.id}/credentials`;
      const admin = { key: acme.admin.key };
      const set = await h.call(admin, 'PUT', `${base}/azure`, {
        body: {
          apiKey: 'azure-key-abcdefgh-wxyz',
          endpoint: 'https://acme.openai.azure.com',
          apiVersion: '2024-10-21',
          deployment: 'gpt4o',
        },
      });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({
        provider: 'azure',
        owner: { kind: 'tenant', id: acme.id },
        purpose: 'any',
        masked_key: '…wxyz',
        status: 'active',
        encryption: { algorithm: 'aes-256-gcm', key_version: 1, current: true },
        fields: { endpoint: 'https://acme.openai.azure.com', apiVersion: '2024-10-21', deployment: 'gpt4o' },
        validated_at: null,
        last_used_at: null,
      });
      const embed = await h.call(admin, 'PUT', `${base}/openai`, {
        body: { apiKey: 'sk-embed-only-7777', purpose: 'embedding' },
      });
      expect(embed.body.purpose).toBe('embedding');
      await h.call(admin, 'PUT', `${base}/openai`, { body: { apiKey: 'sk-any-purpose-8888' } });
      const openai = await h.call(admin, 'GET', `${base}/openai`);
      expect(
        openai.body.credentials.map((c: { purpose: string; masked_key: string }) => [
          c.purpose,
          c.masked_key,
        ]),
      ).toEqual([
        ['any', '…8888'],
        ['embedding', '…7777'],
      ]);
      const all = await h.call('operator', 'GET', base);
      expect(all.body.credentials.map((c: { provider: string }) => c.provider).sort()).toEqual([
        'azure',
        'openai',
        'openai',
      ]);
      expect((await h.call(admin, 'DELETE', `${base}/openai?purpose=embedding`)).status).toBe(204);
      expect((await h.call(admin, 'GET', `${base}/openai`)).body.credentials).toHaveLength(1);
      expect((await h.call(admin, 'DELETE', `${base}/openai`)).status).toBe(204);
      expect((await h.call(admin, 'DELETE', `${base}/openai`)).status).toBe(404);
    });

    it('operator keys: set, list, delete; the operator chain records them', async () => {
      const set = await h.call('operator', 'PUT', '/api/v1/operator-keys/anthropic', {
        body: { apiKey: 'sk-ant-operator-key-9999' },
      });
      expect(set.status).toBe(200);
      expect(set.body.owner).toEqual({ kind: 'operator', id: '00000000-0000-0000-0000-000000000000' });
      expect(h.changes.at(-1)).toEqual({ kind: 'operator-keys' });
      const list = await h.call('operator', 'GET', '/api/v1/operator-keys');
      expect(list.body.credentials.map((c: { provider: string }) => c.provider)).toEqual(['anthropic']);
      expect((await h.call('operator', 'DELETE', '/api/v1/operator-keys/anthropic')).status).toBe(204);
      expect((await h.call('operator', 'GET', '/api/v1/operator-keys')).body.credentials).toEqual([]);
      const events = (await allAuditEvents(h)).filter((e) => e.tenantId === null);
      expect(events.slice(-2).map((e) => e.action)).toEqual(['credential.set', 'credential.delete']);
    });

    it('members manage their own credentials and keys; the key secret is shown once', async () => {
      const member = { key: acme.member.key };
      const set = await h.call(member, 'PUT', '/api/v1/me/credentials/mistral', {
        body: { apiKey: 'mistral-key-own-3333' },
      });
      expect(set.body.owner).toEqual({ kind: 'user', id: acme.member.id });
      expect((await h.call(member, 'GET', '/api/v1/me/credentials')).body.credentials).toHaveLength(1);
      const created = await h.call(member, 'POST', '/api/v1/virtual-keys', { body: { name: 'laptop' } });
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^kh_[0-9A-Za-z]{28}$/);
      expect(created.body).toMatchObject({ user_id: acme.member.id, hint: `…${created.body.key.slice(-4)}` });
      expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
      const list = await h.call(member, 'GET', '/api/v1/virtual-keys');
      expect(list.body.virtual_keys.every((k: { user_id: string }) => k.user_id === acme.member.id)).toBe(
        true,
      );
      const one = await h.call(member, 'GET', `/api/v1/virtual-keys/${created.body.id}`);
      for (const shown of [list.text, one.text]) expect(shown).not.toContain(created.body.key.slice(3, 20));
      expect(one.body).not.toHaveProperty('key');
      const stored = await h.database.db
        .selectFrom('virtualKeys')
        .selectAll()
        .where('id', '=', created.body.id)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(stored)).not.toContain(created.body.key);
      // The new key works, until it is revoked.
      expect((await h.call({ key: created.body.key }, 'GET', '/api/v1/me')).body.role).toBe('member');
      const revoked = await h.call(member, 'DELETE', `/api/v1/virtual-keys/${created.body.id}`);
      expect(revoked.body.revoked_at).not.toBeNull();
      expect((await h.call({ key: created.body.key }, 'GET', '/api/v1/me')).status).toBe(401);
    });

    it('tenant admins manage users, groups, memberships and group credentials', async () => {
      const admin = { key: acme.admin.key };
      const user = await h.call(admin, 'POST', '/api/v1/users', {
        body: { email: 'dev@acme.test', name: 'Dev', role: 'member' },
      });
      expect(user.status).toBe(201);
      const dup = await h.call(admin, 'POST', '/api/v1/users', {
        body: { email: 'dev@acme.test', name: 'Dev', role: 'member' },
      });
      expect(dup.status).toBe(409);
      const promoted = await h.call(admin, 'PATCH', `/api/v1/users/${user.body.id}`, {
        body: { role: 'tenant_admin' },
      });
      expect(promoted.body.role).toBe('tenant_admin');
      const group = await h.call(admin, 'POST', '/api/v1/groups', { body: { name: 'research' } });
      expect(group.status).toBe(201);
      const member = await h.call(admin, 'POST', `/api/v1/groups/${group.body.id}/members`, {
        body: { user_id: user.body.id, may_use_credentials: true },
      });
      expect(member.body).toMatchObject({ user_id: user.body.id, may_use_credentials: true });
      const cred = await h.call(admin, 'PUT', `/api/v1/groups/${group.body.id}/credentials/gemini`, {
        body: { apiKey: 'AIza-group-key-5555' },
      });
      expect(cred.body.owner).toEqual({ kind: 'group', id: group.body.id });
      expect(
        (await h.call(admin, 'GET', `/api/v1/groups/${group.body.id}/members`)).body.members,
      ).toHaveLength(1);
      expect(
        (await h.call(admin, 'DELETE', `/api/v1/groups/${group.body.id}/members/${user.body.id}`)).status,
      ).toBe(204);
      expect((await h.call(admin, 'DELETE', `/api/v1/groups/${group.body.id}`)).status).toBe(204);
      const orphans = await h.database.db
        .selectFrom('credentials')
        .select('id')
        .where('ownerId', '=', group.body.id)
        .execute();
      expect(orphans).toEqual([]);
      expect((await h.call(admin, 'DELETE', `/api/v1/users/${user.body.id}`)).status).toBe(204);
      expect((await h.call(admin, 'GET', `/api/v1/users/${user.body.id}`)).status).toBe(404);
    });

    it('tenant settings: the admin changes its own within the operator caps', async () => {
      await h.call('operator', 'PATCH', `/api/v1/tenants/${acme.id}`, {
        body: {
          settings: { parameter_caps: { max_tokens: 1000, temperature: 1 }, allowed_models: ['openai/*'] },
        },
      });
      const admin = { key: acme.admin.key };
      const ok = await h.call(admin, 'PATCH', '/api/v1/settings', {
        body: {
          default_model: 'openai/gpt-4o',
          default_parameters: { max_tokens: 800 },
          mandatory_byo: ['embedding'],
        },
      });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({
        default_model: 'openai/gpt-4o',
        default_parameters: { max_tokens: 800 },
        parameter_caps: { max_tokens: 1000, temperature: 1 },
        allowed_models: ['openai/*'],
      });
      const tooMany = await h.call(admin, 'PATCH', '/api/v1/settings', {
        body: { default_parameters: { max_tokens: 5000 } },
      });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error.field).toBe('default_parameters.max_tokens');
      const notAllowed = await h.call(admin, 'PATCH', '/api/v1/settings', {
        body: { default_model: 'anthropic/claude' },
      });
      expect(notAllowed.body.error.field).toBe('default_model');
      for (const field of [
        'monthly_budget_usd',
        'allowed_models',
        'parameter_caps',
        'allow_operator_fallback',
      ]) {
        const raise = await h.call(admin, 'PATCH', '/api/v1/settings', {
          body: {
            [field]:
              field === 'allowed_models'
                ? ['*']
                : field === 'parameter_caps'
                  ? {}
                  : field === 'allow_operator_fallback'
                    ? true
                    : 1e6,
          },
        });
        expect(raise.status, field).toBe(400);
        expect(raise.body.error.field).toBe(field);
      }
      const stored = await getTenant(h.database.db, acme.id);
      expect(stored?.settings.defaultParameters).toEqual({ maxTokens: 800 });
      expect(stored?.settings.allowedModels).toEqual(['openai/*']);
    });

    it('the egress allow-list is stored, applied and audited', async () => {
      const bad = await h.call('operator', 'PUT', '/api/v1/egress/allow-list', {
        body: { hosts: ['ok.internal', 'http://nope'] },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('hosts.1');
      const set = await h.call('operator', 'PUT', '/api/v1/egress/allow-list', {
        body: { hosts: ['VLLM.internal', '10.0.0.0/8'] },
      });
      expect(set.body.hosts).toEqual(['10.0.0.0/8', 'vllm.internal']);
      expect((await h.call('operator', 'GET', '/api/v1/egress/allow-list')).body.hosts).toEqual([
        '10.0.0.0/8',
        'vllm.internal',
      ]);
      expect(h.ssrf.checkUrl('http://vllm.internal:8000/v1')).toEqual({ ok: true });
      expect(h.changes.at(-1)).toEqual({ kind: 'egress-allow-list' });
      await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: [] } });
      expect(h.ssrf.checkUrl('http://vllm.internal:8000/v1')).toMatchObject({ ok: false });
    });

    it('audit: one event per change, listed per tenant, and every chain verifies', async () => {
      const t = await seedTenant(h, 'Audited');
      const admin = { key: t.admin.key };
      const before = (await h.call(admin, 'GET', '/api/v1/audit')).body.events.length;
      await h.call(admin, 'POST', '/api/v1/groups', { body: { name: 'g1' } });
      await h.call(admin, 'PUT', `/api/v1/tenants/${t.id}/credentials/openai`, {
        body: { apiKey: 'sk-audited-key-4242' },
      });
      await h.call(admin, 'PATCH', '/api/v1/settings', { body: { default_model: 'gpt-4o-mini' } });
      // A refused change writes nothing.
      await h.call(admin, 'PUT', `/api/v1/tenants/${t.id}/credentials/azure`, {
        body: { apiKey: 'x-1234-5678' },
      });
      const events = (await h.call(admin, 'GET', '/api/v1/audit')).body.events;
      expect(events.length - before).toBe(3);
      expect(events.slice(0, 3).map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
        ['settings.update', `user:${t.admin.id}`],
        ['credential.set', `user:${t.admin.id}`],
        ['group.create', `user:${t.admin.id}`],
      ]);
      expect(events[1].details).toMatchObject({ provider: 'openai', hint: '…4242' });
      const byOperator = await h.call('operator', 'GET', `/api/v1/audit?tenant_id=${t.id}&limit=2`);
      expect(byOperator.body.events).toHaveLength(2);
      const verify = await h.call(admin, 'GET', '/api/v1/audit/verify');
      expect(verify.body).toMatchObject({ ok: true });
      expect(verify.body.heads).toEqual([
        { tenant_id: t.id, position: events[0].position, hash: events[0].hash },
      ]);
      const all = await h.call('operator', 'GET', '/api/v1/audit/verify');
      expect(all.body.ok).toBe(true);
      expect(all.body.events).toBe((await allAuditEvents(h)).length);
      expect((await verifyAuditChain(h.database.db)).ok).toBe(true);
    });
  });
}
