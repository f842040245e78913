import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { sendJson, startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { BACKENDS } from '../store/testing/backends.js';
import {
  type AdminHarness,
  type As,
  allAuditEvents,
  type SeededTenant,
  seedTenant,
  startAdmin,
} from './testing/admin-harness.js';

/** Everything of tenant `id` a cross-tenant attempt could change, read with system scope. */
async function snapshot(h: AdminHarness, id: string): Promise<string> {
  const db = h.database.db;
  const [tenant, users, groups, members, keys, credentials, events] = await Promise.all([
    db.selectFrom('tenants').selectAll().where('id', '=', id).execute(),
    db.selectFrom('users').selectAll().where('tenantId', '=', id).orderBy('id').execute(),
    db.selectFrom('groups').selectAll().where('tenantId', '=', id).orderBy('id').execute(),
    db.selectFrom('groupMemberships').selectAll().where('tenantId', '=', id).orderBy('userId').execute(),
    db.selectFrom('virtualKeys').selectAll().where('tenantId', '=', id).orderBy('id').execute(),
    db
      .selectFrom('credentials')
      .select(['id', 'ownerId', 'hint', 'status', 'updatedAt'])
      .where('tenantId', '=', id)
      .orderBy('id')
      .execute(),
    db.selectFrom('auditEvents').select(['hash']).where('tenantId', '=', id).execute(),
  ]);
  return JSON.stringify({ tenant, users, groups, members, keys, credentials, events });
}

for (const backend of BACKENDS) {
  describe(`admin API security on ${backend}`, () => {
    let h: AdminHarness;
    let a: SeededTenant;
    let b: SeededTenant;
    let aGroup: string;
    let bGroup: string;
    let aKeyId: string;
    beforeAll(async () => {
      h = await startAdmin(backend);
      a = await seedTenant(h, 'Alpha');
      b = await seedTenant(h, 'Beta');
      aGroup = (await h.call({ key: a.admin.key }, 'POST', '/api/v1/groups', { body: { name: 'ga' } })).body
        .id;
      bGroup = (await h.call({ key: b.admin.key }, 'POST', '/api/v1/groups', { body: { name: 'gb' } })).body
        .id;
      await h.call({ key: a.admin.key }, 'POST', `/api/v1/groups/${aGroup}/members`, {
        body: { user_id: a.member.id },
      });
      await h.call({ key: a.admin.key }, 'PUT', `/api/v1/groups/${aGroup}/credentials/openai`, {
        body: { apiKey: 'sk-alpha-group-0001' },
      });
      await h.call({ key: a.admin.key }, 'PUT', `/api/v1/tenants/${a.id}/credentials/openai`, {
        body: { apiKey: 'sk-alpha-tenant-0002' },
      });
      aKeyId = (
        await h.call({ key: a.member.key }, 'POST', '/api/v1/virtual-keys', { body: { name: 'a-member-2' } })
      ).body.id;
    });
    afterAll(() => h?.close());

    it('role matrix: anonymous 401, a role not allowed 403, allowed 2xx', async () => {
      type Case = [method: string, url: string, roles: string[], body?: unknown];
      const all = ['operator', 'tenant_admin', 'member'];
      const admins = ['operator', 'tenant_admin'];
      const cases: Case[] = [
        ['GET', '/api/v1/providers', all],
        ['GET', '/api/v1/me', all],
        ['GET', '/api/v1/virtual-keys', all],
        ['GET', '/api/v1/tenants', ['operator']],
        ['POST', '/api/v1/tenants', ['operator'], { name: 'Matrix' }],
        ['GET', `/api/v1/tenants/${a.id}`, admins],
        ['PATCH', `/api/v1/tenants/${a.id}`, ['operator'], { name: 'Alpha' }],
        ['POST', `/api/v1/tenants/${a.id}/activate`, ['operator']],
        ['GET', `/api/v1/tenants/${a.id}/credentials`, admins],
        ['PUT', `/api/v1/tenants/${a.id}/credentials/mistral`, admins, { apiKey: 'mistral-matrix-key-01' }],
        ['GET', '/api/v1/operator-keys', ['operator']],
        ['PUT', '/api/v1/operator-keys/groq', ['operator'], { apiKey: 'gsk-matrix-key-0001' }],
        ['GET', '/api/v1/egress/allow-list', ['operator']],
        ['PUT', '/api/v1/egress/allow-list', ['operator'], { hosts: [] }],
        ['GET', '/api/v1/users', admins],
        ['GET', `/api/v1/users/${a.member.id}`, admins],
        ['GET', '/api/v1/groups', admins],
        ['GET', `/api/v1/groups/${aGroup}/members`, admins],
        ['GET', `/api/v1/groups/${aGroup}/credentials`, admins],
        ['GET', '/api/v1/settings', admins],
        ['PATCH', '/api/v1/settings', admins, { fallback_models: [] }],
        ['GET', '/api/v1/me/credentials', ['tenant_admin', 'member']],
        [
          'PUT',
          '/api/v1/me/credentials/openai',
          ['tenant_admin', 'member'],
          { apiKey: 'sk-matrix-own-key-03' },
        ],
        ['GET', '/api/v1/audit', admins],
        ['GET', '/api/v1/audit/verify', admins],
      ];
      const principals: Array<[string, As]> = [
        ['operator', 'operator'],
        ['tenant_admin', { key: a.admin.key }],
        ['member', { key: a.member.key }],
      ];
      for (const [method, url, roles, body] of cases) {
        const anonymous = await h.call('anonymous', method, url, body === undefined ? {} : { body });
        expect(anonymous.status, `anonymous ${method} ${url}`).toBe(401);
        const garbage = await h.call(
          { key: 'kh_notarealkey' },
          method,
          url,
          body === undefined ? {} : { body },
        );
        expect(garbage.status, `garbage ${method} ${url}`).toBe(401);
        for (const [role, as] of principals) {
          const r = await h.call(as, method, url, {
            headers: { 'x-keyhold-tenant': a.id },
            ...(body === undefined ? {} : { body }),
          });
          if (roles.includes(role)) expect(r.status, `${role} ${method} ${url}: ${r.text}`).toBeLessThan(300);
          else expect(r.status, `${role} ${method} ${url}`).toBe(403);
        }
      }
    });

    it("another tenant's ids answer 404 — path id, query parameter, header, body field — and change nothing", async () => {
      const before = await snapshot(h, a.id);
      const intruder: As = { key: b.admin.key };
      const missing = '3f0e8f8e-0000-4000-8000-000000000000';
      const attempts: Array<[string, string, { body?: unknown; headers?: Record<string, string> }?]> = [
        // path ids
        ['GET', `/api/v1/tenants/${a.id}`],
        ['GET', `/api/v1/tenants/${a.id}/credentials`],
        ['PUT', `/api/v1/tenants/${a.id}/credentials/openai`, { body: { apiKey: 'sk-intruder-0003' } }],
        ['DELETE', `/api/v1/tenants/${a.id}/credentials/openai`],
        ['GET', `/api/v1/users/${a.member.id}`],
        ['PATCH', `/api/v1/users/${a.member.id}`, { body: { role: 'tenant_admin' } }],
        ['DELETE', `/api/v1/users/${a.member.id}`],
        ['GET', `/api/v1/groups/${aGroup}`],
        ['DELETE', `/api/v1/groups/${aGroup}`],
        ['GET', `/api/v1/groups/${aGroup}/members`],
        ['POST', `/api/v1/groups/${aGroup}/members`, { body: { user_id: b.member.id } }],
        ['DELETE', `/api/v1/groups/${aGroup}/members/${a.member.id}`],
        ['PUT', `/api/v1/groups/${aGroup}/credentials/openai`, { body: { apiKey: 'sk-intruder-0004' } }],
        ['DELETE', `/api/v1/groups/${aGroup}/credentials/openai`],
        ['GET', `/api/v1/virtual-keys/${aKeyId}`],
        ['DELETE', `/api/v1/virtual-keys/${aKeyId}`],
        // query parameters
        ['GET', `/api/v1/virtual-keys?user_id=${a.member.id}`],
        ['GET', `/api/v1/audit?tenant_id=${a.id}`],
        ['GET', `/api/v1/audit/verify?tenant_id=${a.id}`],
        // header
        ['GET', '/api/v1/users', { headers: { 'x-keyhold-tenant': a.id } }],
        [
          'POST',
          '/api/v1/users',
          {
            headers: { 'x-keyhold-tenant': a.id },
            body: { email: 'x@x.test', name: 'X', role: 'tenant_admin' },
          },
        ],
        [
          'PATCH',
          '/api/v1/settings',
          { headers: { 'x-keyhold-tenant': a.id }, body: { default_model: 'x/y' } },
        ],
        ['POST', '/api/v1/virtual-keys', { headers: { 'x-keyhold-tenant': a.id }, body: { name: 'x' } }],
        [
          'PUT',
          '/api/v1/me/credentials/openai',
          { headers: { 'x-keyhold-tenant': a.id }, body: { apiKey: 'sk-intruder-0005' } },
        ],
        // body fields naming another tenant's objects
        ['POST', '/api/v1/virtual-keys', { body: { name: 'stolen', user_id: a.member.id } }],
        [
          'POST',
          `/api/v1/groups/${bGroup}/members`,
          { body: { user_id: a.member.id, may_use_credentials: true } },
        ],
      ];
      for (const [method, url, options] of attempts) {
        const foreign = await h.call(intruder, method, url, options ?? {});
        expect(foreign.status, `${method} ${url}: ${foreign.text}`).toBe(404);
        // Exactly what an id that exists nowhere answers.
        const nowhere = await h.call(
          intruder,
          method,
          url
            .replaceAll(a.id, missing)
            .replaceAll(a.member.id, missing)
            .replaceAll(aGroup, missing)
            .replaceAll(aKeyId, missing),
          {
            ...(options?.body === undefined
              ? {}
              : { body: JSON.parse(JSON.stringify(options.body).replaceAll(a.member.id, missing)) }),
            ...(options?.headers ? { headers: { 'x-keyhold-tenant': missing } } : {}),
          },
        );
        expect(nowhere.status, `${method} ${url} (missing)`).toBe(404);
        expect(foreign.body.error.code).toBe(nowhere.body.error.code);
      }
      // The member of tenant A cannot reach A's other users' keys either (same tenant, not theirs).
      const adminsKey = (
        await h.call({ key: a.admin.key }, 'GET', '/api/v1/virtual-keys')
      ).body.virtual_keys.find((k: { user_id: string }) => k.user_id === a.admin.id);
      expect(
        (await h.call({ key: a.member.key }, 'DELETE', `/api/v1/virtual-keys/${adminsKey.id}`)).status,
      ).toBe(404);
      expect(await snapshot(h, a.id)).toBe(before);
    });

    it('nobody raises their own role or moves an object to another tenant; unknown fields are 400 naming them', async () => {
      const before = await snapshot(h, a.id);
      const member: As = { key: a.member.key };
      const admin: As = { key: a.admin.key };
      const selfRaise = await h.call(member, 'PATCH', '/api/v1/me', { body: { role: 'tenant_admin' } });
      expect(selfRaise.status).toBe(400);
      expect(selfRaise.body.error).toMatchObject({ code: 'unknown_field', field: 'role' });
      expect(
        (await h.call(member, 'PATCH', `/api/v1/users/${a.member.id}`, { body: { role: 'tenant_admin' } }))
          .status,
      ).toBe(403);
      expect(
        (
          await h.call(member, 'POST', '/api/v1/users', {
            body: { email: 'm2@a.test', name: 'M2', role: 'tenant_admin' },
          })
        ).status,
      ).toBe(403);
      const ownRole = await h.call(admin, 'PATCH', `/api/v1/users/${a.admin.id}`, {
        body: { role: 'member' },
      });
      expect(ownRole.status).toBe(403);
      expect((await h.call(admin, 'DELETE', `/api/v1/users/${a.admin.id}`)).status).toBe(403);
      const moves: Array<[string, string, unknown, string]> = [
        [
          'POST',
          '/api/v1/users',
          { email: 'n@a.test', name: 'N', role: 'member', tenant_id: b.id },
          'tenant_id',
        ],
        ['PATCH', `/api/v1/users/${a.member.id}`, { tenant_id: b.id }, 'tenant_id'],
        ['POST', '/api/v1/groups', { name: 'g', tenant_id: b.id }, 'tenant_id'],
        ['POST', '/api/v1/virtual-keys', { name: 'k', tenant_id: b.id }, 'tenant_id'],
        [
          'PUT',
          `/api/v1/tenants/${a.id}/credentials/openai`,
          { apiKey: 'sk-x-0006', owner_id: b.id },
          'owner_id',
        ],
        ['PATCH', '/api/v1/settings', { default_model: 'm', id: b.id }, 'id'],
        [
          'PATCH',
          '/api/v1/settings',
          { default_parameters: { max_tokens: 5, tenant_id: b.id } },
          'default_parameters.tenant_id',
        ],
        ['POST', `/api/v1/groups/${aGroup}/members`, { user_id: a.member.id, tenant_id: b.id }, 'tenant_id'],
      ];
      for (const [method, url, body, field] of moves) {
        const r = await h.call(admin, method, url, { body });
        expect(r.status, `${method} ${url}`).toBe(400);
        expect(r.body.error.field).toBe(field);
      }
      const operatorMove = await h.call('operator', 'PATCH', `/api/v1/tenants/${a.id}`, {
        body: { id: b.id },
      });
      expect(operatorMove.body.error.field).toBe('id');
      expect(await snapshot(h, a.id)).toBe(before);
    });

    it('credentials never leak: no 8-character fragment of a canary in any response, log line, audit event or the OpenAPI document', async () => {
      // Short prefixes: a word in a prefix ("operator") would match ordinary output.
      const canaries = {
        tenant: canaryKey('k0'),
        created: canaryKey('k1'),
        operator: canaryKey('k2'),
        member: canaryKey('k3'),
        group: canaryKey('k4'),
        azure: canaryKey('k5'),
        awsSecret: canaryKey('k6'),
        refused: canaryKey('k7'),
        echoed: canaryKey('k8'),
      };

      // An upstream that echoes the whole key in its 401 body, as some providers do.
      const upstream: Upstream = await startUpstream((request, res) =>
        sendJson(res, 401, {
          error: {
            message: `Incorrect API key provided: ${String(request.headers.authorization)}`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        }),
      );
      try {
        const admin: As = { key: a.admin.key };
        const ok = (r: { status: number; text: string }) => expect(r.status, r.text).toBeLessThan(300);
        ok(
          await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/openai`, {
            body: { apiKey: canaries.tenant },
          }),
        );
        ok(
          await h.call('operator', 'POST', '/api/v1/tenants', {
            body: { name: 'Canary', credential: { provider: 'openai', apiKey: canaries.created } },
          }),
        );
        ok(
          await h.call('operator', 'PUT', '/api/v1/operator-keys/anthropic', {
            body: { apiKey: canaries.operator },
          }),
        );
        ok(
          await h.call({ key: a.member.key }, 'PUT', '/api/v1/me/credentials/openai', {
            body: { apiKey: canaries.member },
          }),
        );
        ok(
          await h.call(admin, 'PUT', `/api/v1/groups/${aGroup}/credentials/gemini`, {
            body: { apiKey: canaries.group },
          }),
        );
        ok(
          await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/azure`, {
            body: {
              apiKey: canaries.azure,
              endpoint: 'https://alpha.openai.azure.com',
              apiVersion: '2024-10-21',
              deployment: 'gpt',
            },
          }),
        );
        ok(
          await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/bedrock`, {
            body: {
              accessKeyId: 'AKIACANARYACCESS01',
              secretAccessKey: canaries.awsSecret,
              region: 'us-east-1',
            },
          }),
        );
        // Refusals carrying a key: missing field, unknown field, SSRF.
        expect(
          (
            await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/azure`, {
              body: { apiKey: canaries.refused },
            })
          ).status,
        ).toBe(400);
        expect(
          (
            await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/vllm`, {
              body: { apiKey: canaries.refused, baseURL: 'http://169.254.169.254/' },
            })
          ).status,
        ).toBe(400);
        expect(
          (
            await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/openai`, {
              body: { apiKey: canaries.refused, extra: 1 },
            })
          ).status,
        ).toBe(400);
        expect(
          (
            await h.call(admin, 'PUT', `/api/v1/tenants/${a.id}/credentials/openai`, {
              body: `{"apiKey":"${canaries.refused}",`,
            })
          ).status,
        ).toBe(400);
        // Validation against an upstream that echoes the key.
        await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: ['127.0.0.1'] } });
        const validated = await h.call(
          admin,
          'PUT',
          `/api/v1/tenants/${a.id}/credentials/vllm?validate=true&model=m`,
          {
            body: { apiKey: canaries.echoed, baseURL: `${upstream.url}/v1` },
          },
        );
        expect(validated.body).toMatchObject({ status: 'invalid', validation: { result: 'invalid' } });
        expect(upstream.requests).toHaveLength(1);
        // Read everything back.
        for (const url of [
          `/api/v1/tenants/${a.id}/credentials`,
          `/api/v1/groups/${aGroup}/credentials`,
          '/api/v1/tenants?limit=1000',
          `/api/v1/audit?tenant_id=${a.id}&limit=1000`,
          '/api/v1/audit?limit=1000',
        ]) {
          ok(await h.call('operator', 'GET', url, { headers: { 'x-keyhold-tenant': a.id } }));
        }
        ok(await h.call({ key: a.member.key }, 'GET', '/api/v1/me/credentials'));
        ok(await h.call('operator', 'GET', '/api/v1/operator-keys'));
        const openapi = await h.call('anonymous', 'GET', '/openapi.json');
        expect(openapi.status).toBe(200);
        const audit = JSON.stringify(await allAuditEvents(h));
        const everything = [...h.seen, ...h.logs, audit, openapi.text].join('\n');
        expect(h.logs.length).toBeGreaterThan(0);
        expectNoKeyIn(everything, ...Object.values(canaries));
        // The masked key is all a listing shows.
        const listed = await h.call(admin, 'GET', `/api/v1/tenants/${a.id}/credentials/openai`);
        expect(listed.body.credentials[0].masked_key).toBe(`…${canaries.tenant.slice(-4)}`);
      } finally {
        await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: [] } });
        await upstream.close();
      }
    });

    it('a virtual key secret appears in its creation response and nowhere else', async () => {
      const start = h.seen.length;
      const logStart = h.logs.length;
      const created = await h.call({ key: a.admin.key }, 'POST', '/api/v1/virtual-keys', {
        body: { name: 'once' },
      });
      const key = created.body.key as string;
      await h.call({ key: a.admin.key }, 'GET', '/api/v1/virtual-keys');
      await h.call({ key: a.admin.key }, 'GET', `/api/v1/virtual-keys/${created.body.id}`);
      await h.call({ key: a.admin.key }, 'DELETE', `/api/v1/virtual-keys/${created.body.id}`);
      await h.call({ key: a.admin.key }, 'GET', `/api/v1/audit?limit=10`);
      const bodies = h.seen.slice(start).filter((text) => text.includes(key.slice(3, 11)));
      expect(bodies).toHaveLength(1);
      expect(bodies[0]).toBe(created.text);
      expectNoKeyIn([...h.logs.slice(logStart), JSON.stringify(await allAuditEvents(h))].join('\n'), key);
    });
  });
}
