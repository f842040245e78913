import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import type { GatewayConfig } from '../src/index.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { PROVIDER_CASES } from './support/provider-upstreams.js';

// The chain is provider-independent; Anthropic's upstream shows plainly which key arrived (x-api-key).
const anthropic = PROVIDER_CASES.find((c) => c.provider === 'anthropic')!;
const MODEL = `anthropic/${anthropic.model}`;

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream((r, res) =>
    anthropic.keyOf(r) === 'sk-ant-rejected-key-000' ? anthropic.reject(r, res) : anthropic.handle(r, res),
  );
});
afterAll(() => upstream.close());

const cred = (
  id: string,
  key: string,
  owner?: { kind: 'user' | 'group' | 'tenant'; id?: string },
  status?: 'active' | 'invalid' | 'revoked',
) => ({
  id,
  provider: 'anthropic',
  secrets: { apiKey: key },
  fields: { baseURL: upstream.url },
  ...(owner ? { owner } : {}),
  ...(status ? { status } : {}),
});

async function call(h: Harness, key: string, headers: Record<string, string> = {}) {
  const before = upstream.requests.length;
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  const sent = upstream.requests.slice(before).map((r) => anthropic.keyOf(r));
  return { status: res.status, source: res.headers.get('x-keyhold-key-source'), body, sent };
}

describe('key chain: header → user → group → tenant → operator', () => {
  let h: Harness;
  const k = {
    u1: virtualKey('k-u1', { userId: 'u1' }),
    u2: virtualKey('k-u2', { userId: 'u2' }),
    u3: virtualKey('k-u3', { userId: 'u3' }),
    tenant: virtualKey('k-t'),
    byo: virtualKey('k-byo'),
    revokedUser: virtualKey('k-ru', { userId: 'r1' }),
    invalidTenant: virtualKey('k-it'),
    rejected: virtualKey('k-rej'),
  };
  beforeAll(async () => {
    const config: GatewayConfig = {
      mode: 'shared',
      // Where header keys go: the operator's base URL for the provider.
      providers: { anthropic: { baseURL: upstream.url } },
      operatorKeys: [
        {
          id: 'op',
          provider: 'anthropic',
          secrets: { apiKey: 'sk-ant-operator-key-000' },
          fields: { baseURL: upstream.url },
        },
      ],
      tenants: [
        {
          id: 'acme',
          settings: { allowOperatorFallback: true },
          users: [{ id: 'u1' }, { id: 'u2' }, { id: 'u3' }],
          groups: [
            { id: 'g1', members: [{ userId: 'u2' }] },
            { id: 'g2', members: [{ userId: 'u3', useCredentials: false }] },
          ],
          credentials: [
            cred('c-u1', 'sk-ant-user-u1-key-000', { kind: 'user', id: 'u1' }),
            cred('c-g1', 'sk-ant-group-g1-key-000', { kind: 'group', id: 'g1' }),
            cred('c-g2', 'sk-ant-group-g2-key-000', { kind: 'group', id: 'g2' }),
            cred('c-acme', 'sk-ant-tenant-acme-key-000'),
          ],
          virtualKeys: [k.u1.entry, k.u2.entry, k.u3.entry, k.tenant.entry],
        },
        {
          id: 'byo',
          settings: { allowKeyHeader: true },
          credentials: [cred('c-byo', 'sk-ant-tenant-byo-key-000')],
          virtualKeys: [k.byo.entry],
        },
        {
          id: 'broken',
          settings: { allowOperatorFallback: true },
          users: [{ id: 'r1' }],
          credentials: [
            cred('c-r1-old', 'sk-ant-revoked-key-000', { kind: 'user', id: 'r1' }, 'revoked'),
            cred('c-broken', 'sk-ant-tenant-broken-key-000'),
          ],
          virtualKeys: [k.revokedUser.entry],
        },
        {
          id: 'invalid',
          settings: { allowOperatorFallback: true },
          credentials: [cred('c-invalid', 'sk-ant-invalid-key-000', undefined, 'invalid')],
          virtualKeys: [k.invalidTenant.entry],
        },
        {
          id: 'rejected',
          settings: { allowOperatorFallback: true },
          credentials: [cred('c-rej', 'sk-ant-rejected-key-000')],
          virtualKeys: [k.rejected.entry],
        },
      ],
    };
    h = await startGateway(config, { maxRetries: 2 });
  });
  afterAll(() => h.close());

  it('the user’s own credential wins', async () => {
    expect(await call(h, k.u1.key)).toMatchObject({
      status: 200,
      source: 'user',
      sent: ['sk-ant-user-u1-key-000'],
    });
  });
  it('then a credential of a group the user may use', async () => {
    expect(await call(h, k.u2.key)).toMatchObject({
      status: 200,
      source: 'group',
      sent: ['sk-ant-group-g1-key-000'],
    });
  });
  it('a group whose keys the user may not use is skipped: the tenant key serves', async () => {
    expect(await call(h, k.u3.key)).toMatchObject({
      status: 200,
      source: 'tenant',
      sent: ['sk-ant-tenant-acme-key-000'],
    });
  });
  it('a key without a user gets the tenant credential', async () => {
    expect(await call(h, k.tenant.key)).toMatchObject({
      status: 200,
      source: 'tenant',
      sent: ['sk-ant-tenant-acme-key-000'],
    });
  });
  it('X-Provider-API-Key is used when the tenant allows it, and refused when not', async () => {
    const own = await call(h, k.byo.key, { 'x-provider-api-key': 'sk-ant-header-key-000' });
    expect(own).toMatchObject({ status: 200, source: 'header', sent: ['sk-ant-header-key-000'] });
    const refused = await call(h, k.tenant.key, { 'x-provider-api-key': 'sk-ant-header-key-000' });
    expect(refused).toMatchObject({ status: 403, sent: [] });
    expect(refused.body.error?.code).toBe('key_header_not_allowed');
  });
  it('a revoked user credential is an error, not a fall-through to the tenant key', async () => {
    const r = await call(h, k.revokedUser.key);
    expect(r).toMatchObject({ status: 401, sent: [] });
    expect(r.body.error?.code).toBe('provider_credential_revoked');
  });
  it('an invalid tenant credential is an error, not a fall-through to the operator key', async () => {
    const r = await call(h, k.invalidTenant.key);
    expect(r).toMatchObject({ status: 401, sent: [] });
    expect(r.body.error?.code).toBe('provider_credential_invalid');
  });
  it('a credential the provider rejects (401) is an error: not retried, no other key tried', async () => {
    const r = await call(h, k.rejected.key);
    expect(r).toMatchObject({ status: 401, source: 'tenant', sent: ['sk-ant-rejected-key-000'] });
    expect(r.body.error?.code).toBe('provider_credential_rejected');
    expect(h.usage.at(-1)).toMatchObject({
      status: 'error',
      errorClass: 'authentication_error',
      upstreamStatus: 401,
      credentialId: 'c-rej',
    });
  });
});

describe('deployment modes', () => {
  const vkWithKey = virtualKey('k1');
  const vkNoKey = virtualKey('k2');
  const vkNoFallback = virtualKey('k3');
  const vkByo = virtualKey('k4');
  const config = (mode: 'single' | 'shared' | 'dedicated'): GatewayConfig => ({
    mode,
    operatorKeys: [
      {
        id: 'op',
        provider: 'anthropic',
        secrets: { apiKey: 'sk-ant-operator-key-000' },
        fields: { baseURL: upstream.url },
      },
    ],
    tenants: [
      {
        id: 'with-key',
        settings: { allowOperatorFallback: true },
        credentials: [cred('c1', 'sk-ant-tenant-own-key-000')],
        virtualKeys: [vkWithKey.entry],
      },
      { id: 'no-key', settings: { allowOperatorFallback: true }, virtualKeys: [vkNoKey.entry] },
      { id: 'no-fallback', settings: { allowOperatorFallback: false }, virtualKeys: [vkNoFallback.entry] },
      {
        id: 'byo-only',
        settings: { allowOperatorFallback: true, mandatoryByo: ['chat'] },
        virtualKeys: [vkByo.entry],
      },
    ],
  });

  it('single: operator keys only, even for a tenant that has its own', async () => {
    const h = await startGateway(config('single'));
    try {
      expect(await call(h, vkWithKey.key)).toMatchObject({
        status: 200,
        source: 'operator',
        sent: ['sk-ant-operator-key-000'],
      });
      expect(await call(h, vkNoFallback.key)).toMatchObject({ status: 200, source: 'operator' });
    } finally {
      await h.close();
    }
  });

  it('shared: tenant keys first, operator fallback only when the tenant allows and the operation is not BYO', async () => {
    const h = await startGateway(config('shared'));
    try {
      expect(await call(h, vkWithKey.key)).toMatchObject({
        status: 200,
        source: 'tenant',
        sent: ['sk-ant-tenant-own-key-000'],
      });
      expect(await call(h, vkNoKey.key)).toMatchObject({
        status: 200,
        source: 'operator',
        sent: ['sk-ant-operator-key-000'],
      });
      const noFallback = await call(h, vkNoFallback.key);
      expect(noFallback).toMatchObject({ status: 401, sent: [] });
      expect(noFallback.body.error?.code).toBe('no_provider_credential');
      const byo = await call(h, vkByo.key);
      expect(byo).toMatchObject({ status: 401, sent: [] });
      expect(byo.body.error?.message).toMatch(/own key/);
    } finally {
      await h.close();
    }
  });

  it('dedicated: tenant keys mandatory, the operator key is never used', async () => {
    const h = await startGateway(config('dedicated'));
    try {
      expect(await call(h, vkWithKey.key)).toMatchObject({ status: 200, source: 'tenant' });
      expect(await call(h, vkNoKey.key)).toMatchObject({ status: 401, sent: [] });
    } finally {
      await h.close();
    }
  });
});
