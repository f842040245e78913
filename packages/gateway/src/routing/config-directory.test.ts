import { describe, expect, it } from 'vitest';
import { expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { createConfigDirectory } from './config-directory.js';
import { parseGatewayConfig } from './config-schema.js';

const YAML = `
mode: dedicated
operatorKeys:
  - id: op
    provider: openai
    secrets: { apiKey: { env: OPERATOR_OPENAI_KEY } }
tenants:
  - id: acme
    settings: { allowKeyHeader: true, allowedModels: ["openai/*"] }
    users: [{ id: u1 }]
    groups: [{ id: g1, members: [{ userId: u1 }] }]
    credentials:
      - id: c1
        provider: azure
        owner: { kind: group, id: g1 }
        secrets: { apiKey: { env: ACME_AZURE_KEY } }
        fields: { endpoint: https://acme.openai.azure.com, apiVersion: 2024-10-21, deployment: gpt4o }
    virtualKeys:
      - { id: k1, hash: "${'a'.repeat(64)}", userId: u1, expiresAt: "2030-01-01T00:00:00Z" }
`;

describe('config directory', () => {
  it('parses YAML with one schema and opens credentials from the environment at call time', async () => {
    const parsed = parseGatewayConfig(YAML);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const env = {
      OPERATOR_OPENAI_KEY: 'sk-operator-0123456789abcdef',
      ACME_AZURE_KEY: 'azure-key-0123456789abcdef',
    };
    const loaded = createConfigDirectory(parsed.config, { env });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const d = loaded.directory;
    expect(d.mode).toBe('dedicated');
    expect((await d.getTenant('acme'))?.settings).toMatchObject({
      allowKeyHeader: true,
      allowOperatorFallback: false,
      allowedModels: ['openai/*'],
    });
    expect(await d.listMemberships('acme', 'u1')).toEqual([
      { groupId: 'g1', userId: 'u1', useCredentials: true },
    ]);
    const [record] = await d.listCredentials('acme', 'azure');
    expect(record).toMatchObject({
      id: 'c1',
      owner: { kind: 'group', id: 'g1' },
      status: 'active',
      hint: '…cdef',
    });
    expectNoKeyIn(JSON.stringify(record), env.ACME_AZURE_KEY);
    const credential = await d.open({ kind: 'credential', id: 'c1' });
    expect(credential.secrets.apiKey?.reveal()).toBe(env.ACME_AZURE_KEY);
    expect(credential.fields.deployment).toBe('gpt4o');
    expect((await d.findVirtualKey('a'.repeat(64)))?.expiresAt?.toISOString()).toBe(
      '2030-01-01T00:00:00.000Z',
    );
  });

  it('lists every problem up front: schema errors, unknown providers, owners and unset variables', () => {
    const bad = parseGatewayConfig('tenants: [{ id: acme, credentials: [{ id: c, provider: 7 }] }]');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.join('\n')).toMatch(/credentials\/0\/provider/);

    const parsed = parseGatewayConfig(`
tenants:
  - id: acme
    credentials:
      - { id: c1, provider: nosuch, secrets: { apiKey: { env: MISSING_VAR } } }
      - { id: c2, provider: openai, owner: { kind: user, id: ghost }, secrets: { apiKey: inline-dev-key } }
`);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const loaded = createConfigDirectory(parsed.config, { env: {} });
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) {
      const text = loaded.errors.join('\n');
      expect(text).toMatch(/unknown provider "nosuch"/);
      expect(text).toMatch(/MISSING_VAR, which is not set/);
      expect(text).toMatch(/unknown user ghost/);
    }
  });
});
