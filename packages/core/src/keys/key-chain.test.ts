import { inspect } from 'node:util';
import { serialize } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../test/support/leaks.js';
import {
  AuthenticationError,
  configure,
  createEngine,
  createFakeAdapter,
  generate,
  NOT_FOUND,
  runtimeKeys,
  Secret,
} from '../index.js';

const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

afterEach(() => {
  runtimeKeys.clear();
  configure({});
});

describe('Secret', () => {
  it('shows at most a 4-character hint through every rendering', () => {
    const key = canaryKey();
    const secret = Secret.from(key);
    expect(String(secret)).toBe(`…${key.slice(-4)}`);
    expect(JSON.stringify({ secret })).toBe(`{"secret":"…${key.slice(-4)}"}`);
    expect(inspect(secret)).toBe(`Secret(…${key.slice(-4)})`);
    expect(`${secret}`).toBe(`…${key.slice(-4)}`);
    expect(serialize(secret).toString('latin1')).not.toContain(key.slice(0, 8));
    expectNoKeyIn(allRenderings({ secret }), key);
    expect(secret.reveal()).toBe(key);
  });

  it('shows less of a short value', () => {
    expect(Secret.from('abcdefgh').hint).toBe('…gh');
    expect(Secret.from('abc').hint).toBe('…');
  });
});

describe('key resolution chain', () => {
  const keyOf = (adapter: ReturnType<typeof createFakeAdapter>) => adapter.calls.at(-1)?.keyHint;

  it('takes the first link that has a key: call → resolver → runtime → config → env', async () => {
    const keys = {
      call: 'key-from-the-call-1111',
      resolver: 'key-from-the-resolver-2222',
      runtime: 'key-from-the-runtime-3333',
      config: 'key-from-the-config-4444',
      env: 'key-from-the-environment-5555',
    };
    const adapter = createFakeAdapter();
    const engine = createEngine({ provider: 'fake', model: 'm', adapter, keys: () => keys.resolver });
    const bare = createEngine({ provider: 'fake', model: 'm', adapter });
    runtimeKeys.set('fake', keys.runtime);
    configure({ keys: { fake: keys.config }, env: { FAKE_API_KEY: keys.env } });

    await generate(engine, ask, { apiKey: keys.call });
    expect(keyOf(adapter)).toBe('…1111');
    await generate(engine, ask);
    expect(keyOf(adapter)).toBe('…2222');
    await generate(bare, ask);
    expect(keyOf(adapter)).toBe('…3333');
    runtimeKeys.clear();
    await generate(bare, ask);
    expect(keyOf(adapter)).toBe('…4444');
    configure({ env: { FAKE_API_KEY: keys.env } });
    await generate(bare, ask);
    expect(keyOf(adapter)).toBe('…5555');
  });

  it('re-evaluates a function resolver on every call, with the call context', async () => {
    const adapter = createFakeAdapter();
    const seen: unknown[] = [];
    const engine = createEngine({
      provider: 'fake',
      model: 'm',
      adapter,
      keys: (_provider, context) => {
        seen.push(context);
        return `key-for-tenant-${String(context.tenant)}-0000`;
      },
    });
    await generate(engine, ask, { context: { tenant: 'a' } });
    await generate(engine, ask, { context: { tenant: 'b' } });
    expect(seen).toMatchObject([
      { tenant: 'a', provider: 'fake', model: 'm', operation: 'chat' },
      { tenant: 'b', provider: 'fake', model: 'm', operation: 'chat' },
    ]);
  });

  it('falls through when a resolver object answers NOT_FOUND', async () => {
    const adapter = createFakeAdapter();
    const engine = createEngine({ provider: 'fake', model: 'm', adapter, keys: { fetch: () => NOT_FOUND } });
    configure({ keys: { fake: 'configured-key-for-fake-9999' } });
    await generate(engine, ask);
    expect(keyOf(adapter)).toBe('…9999');
  });

  it('throws AuthenticationError naming the provider, before calling the adapter, when no link has a key', async () => {
    configure({ env: {} });
    const adapter = createFakeAdapter();
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const error = await generate(engine, ask).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.provider).toBe('fake');
    expect(error.message).toContain('"fake"');
    expect(adapter.calls).toHaveLength(0);
  });

  it('rejects keys in engine options', () => {
    expect(() =>
      createEngine({ provider: 'openai', model: 'm', options: { apiKey: 'sk-x' } as never }),
    ).toThrow(/must not hold keys/);
  });

  it('an incomplete credential is an error naming the field, not a fall-through', async () => {
    configure({ keys: { azure: { apiKey: 'azure-key-1234', endpoint: 'https://x.openai.azure.com' } } });
    const engine = createEngine({ provider: 'azure', model: 'gpt-4o', adapter: createFakeAdapter() });
    const error = await generate(engine, ask).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(/"apiVersion"/);
  });

  it('the runtime store is development-only: two concurrent tenants race through it', async () => {
    // Tenant A sets its key, then awaits something (a DB read, say) before calling; tenant B sets
    // its key meanwhile. A's call goes out on B's key. This is why multi-tenant code must pass
    // keys per call or through a resolver.
    const adapter = createFakeAdapter({ script: [{ text: 'ok', delayMs: 5 }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const tenantA = (async () => {
      runtimeKeys.set('fake', 'tenant-a-key-AAAA');
      await new Promise((r) => setTimeout(r, 10));
      await generate(engine, ask);
      return adapter.calls.at(-1)?.keyHint;
    })();
    const tenantB = (async () => {
      await new Promise((r) => setTimeout(r, 2));
      runtimeKeys.set('fake', 'tenant-b-key-BBBB');
      await generate(engine, ask);
    })();
    const [aSaw] = await Promise.all([tenantA, tenantB]);
    expect(aSaw).toBe('…BBBB');
  });

  it('per-call keys never race: the same interleaving with apiKey per call keeps each tenant on its own key', async () => {
    const adapter = createFakeAdapter({ script: [{ text: 'ok', delayMs: 5 }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const hints = await Promise.all(
      ['tenant-a-key-AAAA', 'tenant-b-key-BBBB'].map(async (key, i) => {
        await new Promise((r) => setTimeout(r, 10 - i * 8));
        const before = adapter.calls.length;
        await generate(engine, ask, { apiKey: key });
        return adapter.calls.slice(before).map((c) => c.keyHint);
      }),
    );
    expect(hints[0]).toContain('…AAAA');
    expect(hints[1]).toContain('…BBBB');
  });

  it('an engine created with a map resolver carries no key in any rendering', () => {
    const key = canaryKey();
    const engine = createEngine({ provider: 'fake', model: 'fake-model', keys: { fake: key } });
    expectNoKeyIn(allRenderings(engine), key);
    expect(structuredClone(engine)).toEqual({ provider: 'fake', model: 'fake-model', options: {} });
  });
});
