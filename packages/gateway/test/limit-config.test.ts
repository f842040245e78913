import { describe, expect, it } from 'vitest';
import { createConfigDirectory, parseGatewayConfig } from '../src/index.js';
import { callerLimits } from '../src/limits/caller-limits.js';

const HASH = 'a'.repeat(64);
const HASH2 = 'b'.repeat(64);

const YAML = `
pricing:
  overrides:
    - { provider: vllm, model: '*', inputPerMTok: 0.1, outputPerMTok: 0.2 }
tenants:
  - id: acme
    settings:
      limits:
        requestsPerMinute: 600
        tokensPerMinute: 200000
        perUser: { requestsPerMinute: 60 }
        perKey: { tokensPerMinute: 50000 }
      budgets:
        - { id: monthly, scope: tenant, period: month, limitUsd: 500 }
        - { id: eng-daily, scope: group, scopeId: eng, period: day, limitUsd: 20, mode: soft }
        - { id: each-user, scope: user, period: day, limitUsd: 2.5 }
      alertWebhook:
        url: https://acme.example/hooks/keyhold
        secret: { env: ACME_WEBHOOK_SECRET }
    users:
      - id: alice
        limits: { requestsPerMinute: 10 }
      - id: bob
    groups:
      - id: eng
        members: [{ userId: alice }]
    virtualKeys:
      - { id: k1, hash: '${HASH}', userId: alice, limits: { requestsPerMinute: 5 } }
      - { id: k2, hash: '${HASH2}', userId: bob }
`;

describe('limit and budget settings in the config file', () => {
  it('parses limits, budgets, the webhook and price overrides into the directory', async () => {
    const parsed = parseGatewayConfig(YAML);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.config.pricing?.overrides?.[0]).toMatchObject({ provider: 'vllm', model: '*' });
    const loaded = createConfigDirectory(parsed.config, { env: { ACME_WEBHOOK_SECRET: 'whsec_123456789' } });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const tenant = (await loaded.directory.getTenant('acme'))!;
    expect(tenant.settings.limits).toEqual({
      requestsPerMinute: 600,
      tokensPerMinute: 200000,
      perUser: { requestsPerMinute: 60 },
      perKey: { tokensPerMinute: 50000 },
      keys: { k1: { requestsPerMinute: 5 } },
    });
    expect(tenant.settings.budgets).toEqual([
      { id: 'monthly', scope: 'tenant', period: 'month', limitMicros: 500_000_000, mode: 'hard' },
      {
        id: 'eng-daily',
        scope: 'group',
        scopeId: 'eng',
        period: 'day',
        limitMicros: 20_000_000,
        mode: 'soft',
      },
      { id: 'each-user', scope: 'user', period: 'day', limitMicros: 2_500_000, mode: 'hard' },
    ]);
    expect(tenant.settings.alertWebhook?.url).toBe('https://acme.example/hooks/keyhold');
    // The secret is a Secret: never in JSON.
    expect(JSON.stringify(tenant.settings)).not.toContain('whsec_123456789');

    const alice = (await loaded.directory.getUser('acme', 'alice'))!;
    const memberships = await loaded.directory.listMemberships('acme', 'alice');
    const a = callerLimits({ tenant, user: alice, memberships, virtualKeyId: 'k1' });
    expect(a.scopes).toEqual([
      { kind: 'tenant', id: 'acme', rpm: 600, tpm: 200000 },
      { kind: 'user', id: 'alice', rpm: 10 },
      { kind: 'key', id: 'k1', rpm: 5 },
    ]);
    expect(a.budgets.map((b) => [b.id, b.scope.kind, b.scope.id, b.mode])).toEqual([
      ['acme/monthly', 'tenant', 'acme', 'hard'],
      ['acme/eng-daily', 'group', 'eng', 'soft'],
      ['acme/each-user/alice', 'user', 'alice', 'hard'],
    ]);

    const bob = (await loaded.directory.getUser('acme', 'bob'))!;
    const b = callerLimits({ tenant, user: bob, memberships: [], virtualKeyId: 'k2' });
    expect(b.scopes).toEqual([
      { kind: 'tenant', id: 'acme', rpm: 600, tpm: 200000 },
      { kind: 'user', id: 'bob', rpm: 60 },
      { kind: 'key', id: 'k2', tpm: 50000 },
    ]);
    expect(b.budgets.map((x) => x.id)).toEqual(['acme/monthly', 'acme/each-user/bob']);
  });

  it('lists every cross-reference problem at start-up', () => {
    const parsed = parseGatewayConfig(`
tenants:
  - id: t
    settings:
      budgets:
        - { id: dup, scope: user, scopeId: ghost, period: day, limitUsd: 1 }
        - { id: dup, scope: tenant, scopeId: t, period: day, limitUsd: 1 }
      alertWebhook: { url: 'https://t.example/h', secret: { env: MISSING_SECRET } }
`);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const loaded = createConfigDirectory(parsed.config, { env: {} });
    expect(loaded.ok).toBe(false);
    const errors = loaded.ok ? [] : loaded.errors;
    expect(errors.some((e) => e.includes('unknown user ghost'))).toBe(true);
    expect(errors.some((e) => e.includes('duplicate budget id'))).toBe(true);
    expect(errors.some((e) => e.includes('a tenant budget takes no scopeId'))).toBe(true);
    expect(errors.some((e) => e.includes('MISSING_SECRET'))).toBe(true);
  });

  it('refuses malformed limits', () => {
    expect(
      parseGatewayConfig('tenants: [{ id: t, settings: { limits: { requestsPerMinute: 0 } } }]').ok,
    ).toBe(false);
    expect(
      parseGatewayConfig(
        'tenants: [{ id: t, settings: { budgets: [{ id: b, scope: org, period: day, limitUsd: 1 }] } }]',
      ).ok,
    ).toBe(false);
    expect(
      parseGatewayConfig(
        'pricing: { overrides: [{ provider: x, model: y, inputPerMTok: -1, outputPerMTok: 1 }] }',
      ).ok,
    ).toBe(false);
  });
});
