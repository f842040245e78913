import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey, expectNoKeyIn } from '../../core/test/support/leaks.js';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { applySettings } from '../src/admin/tenant-settings.js';
import { generateVirtualKey } from '../src/auth/virtual-key.js';
import { createGateway, type Gateway } from '../src/create-gateway.js';
import { createLogger } from '../src/http/logger.js';
import type { DirectoryChange } from '../src/routing/directory.js';
import {
  deleteCredential,
  operatorOwner,
  setCredentialStatus,
  tenantOwner,
  userOwner,
} from '../src/store/credentials.js';
import { changeSourceOf, notifyDirectoryChange } from '../src/store/directory-changes.js';
import type { Schema } from '../src/store/schema.js';
import { createStoreDirectory, type StoreDirectory } from '../src/store/store-directory.js';
import { createTenant, getTenant, updateTenant } from '../src/store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/store/testing/backends.js';
import { createUser } from '../src/store/users.js';
import { createVirtualKey } from '../src/store/virtual-keys.js';
import { checkKeyring } from '../src/vault/key-check.js';
import { createKeyring } from '../src/vault/keyring.js';
import { storeCredential } from '../src/vault/store-credential.js';
import { createVault } from '../src/vault/vault.js';
import { PROVIDER_CASES, TEXT } from './support/provider-upstreams.js';

const openai = PROVIDER_CASES.find((c) => c.provider === 'openai')!;
const MODEL = `openai/${openai.model}`;

for (const backend of BACKENDS) {
  describe(`gateway over the store directory on ${backend}`, () => {
    let database: TestDatabase;
    let upstream: Upstream;
    let gateway: Gateway;
    let directory: StoreDirectory;
    let url: string;
    const logs: string[] = [];
    const tenantKey = canaryKey('sk-store-tenant');
    const userKey = canaryKey('sk-store-user');
    const operatorKey = canaryKey('sk-store-op');
    const operatorChatKey = canaryKey('sk-store-opchat');
    let operatorAnyId: string;
    let vault: ReturnType<typeof createVault>;
    let tenantId: string;
    let userCredentialId: string;
    const virtualKeys = { tenant: generateVirtualKey(), user: generateVirtualKey() };
    // A tenant with no credential of its own, served by the operator's key.
    const soloKey = generateVirtualKey();

    beforeAll(async () => {
      upstream = await startUpstream((r, res) => openai.handle(r, res));
      database = await openTestDatabase(backend);
      const { db } = database;
      vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
      await checkKeyring(db, vault.keyring);
      const tenant = await createTenant(db, { name: 'acme', settings: { defaultModel: MODEL } });
      tenantId = tenant.id;
      const user = await createUser(db, { tenantId, email: 'ada@acme.test', name: 'Ada', role: 'member' });
      const fields = openai.fields(upstream.url);
      await storeCredential(db, vault, {
        owner: tenantOwner(tenantId),
        provider: 'openai',
        purpose: 'any',
        secrets: { apiKey: tenantKey },
        fields,
      });
      userCredentialId = (
        await storeCredential(db, vault, {
          owner: userOwner(tenantId, user.id),
          provider: 'openai',
          purpose: 'any',
          secrets: { apiKey: userKey },
          fields,
        })
      ).id;
      for (const [name, k] of Object.entries(virtualKeys)) {
        await createVirtualKey(db, {
          tenantId,
          userId: name === 'user' ? user.id : null,
          keyHash: k.hash,
          prefix: k.prefix,
          hint: k.hint,
          name,
        });
      }
      const solo = await createTenant(db, {
        name: 'solo',
        settings: { defaultModel: MODEL, allowOperatorFallback: true },
      });
      await createVirtualKey(db, {
        tenantId: solo.id,
        keyHash: soloKey.hash,
        prefix: soloKey.prefix,
        hint: soloKey.hint,
        name: 'solo',
      });
      operatorAnyId = (
        await storeCredential(db, vault, {
          owner: operatorOwner(),
          provider: 'openai',
          purpose: 'any',
          secrets: { apiKey: operatorKey },
          fields,
        })
      ).id;
      directory = createStoreDirectory({
        db,
        vault,
        mode: 'shared',
        changes: changeSourceOf(database),
      });
      await directory.ready;
      gateway = createGateway({
        directory,
        logger: createLogger({
          level: 'debug',
          destination: new Writable({
            write(chunk, _encoding, done) {
              logs.push(String(chunk));
              done();
            },
          }),
        }),
        maxRetries: 0,
        cacheTtlMs: 60_000,
      });
      url = await gateway.listen({ port: 0 });
    });
    afterAll(async () => {
      await gateway?.close();
      await database?.close();
      await upstream?.close();
    });

    /** The write and its notice in one transaction, as the admin API does; resolves once delivered. */
    const change = async (write: (trx: Kysely<Schema>) => Promise<unknown>, notice: DirectoryChange) => {
      const delivered = new Promise<void>((resolve) => {
        const off = directory.subscribe((c) => {
          if (c.kind === notice.kind) {
            off();
            resolve();
          }
        });
      });
      await database.db.transaction().execute(async (trx) => {
        await write(trx);
        await notifyDirectoryChange(trx, notice);
      });
      // On PostgreSQL the notice travels through the server to the listening connection.
      await delivered;
    };

    const client = (key: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });

    it('answers the official client with the key the vault decrypted, per caller', async () => {
      const before = upstream.requests.length;
      const { data, response } = await client(virtualKeys.tenant.key)
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe(TEXT('openai'));
      expect(response.headers.get('x-keyhold-key-source')).toBe('tenant');
      const forUser = await client(virtualKeys.user.key)
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      expect(forUser.response.headers.get('x-keyhold-key-source')).toBe('user');
      const sent = upstream.requests.slice(before).map((r) => openai.keyOf(r));
      expect(sent).toEqual([tenantKey, userKey]);
    });

    it('streams through the store directory too', async () => {
      const stream = await client(virtualKeys.user.key).chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(TEXT('openai'));
    });

    it('rate limits and budgets set through the admin settings apply on the next request', async () => {
      const stored = (await getTenant(database.db, tenantId))!.settings;
      const limited = applySettings(stored, {
        rate_limits: { per_key: { requests_per_minute: 2 } },
        budgets: [{ id: 'tiny-daily', scope: 'tenant', period: 'day', limit_usd: 1000, mode: 'hard' }],
      });
      await change((trx) => updateTenant(trx, tenantId, { settings: limited }), { kind: 'tenant', tenantId });
      const ask = () =>
        client(virtualKeys.tenant.key).chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Hi' }],
        });
      await ask();
      await ask();
      const refused = await ask().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toMatch(/^\d+$/);
      // Per key: the user's key has its own counter.
      const other = await client(virtualKeys.user.key).chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(other.choices[0]?.message.content).toBe(TEXT('openai'));
      await change((trx) => updateTenant(trx, tenantId, { settings: stored }), { kind: 'tenant', tenantId });
      expect((await ask()).choices[0]?.message.content).toBe(TEXT('openai'));
    });

    it('a revoked credential is refused on the next request, never a fall-through to the tenant key', async () => {
      const before = upstream.requests.length;
      await change((trx) => setCredentialStatus(trx, userCredentialId, 'revoked'), {
        kind: 'credentials',
        tenantId,
      });
      const error = await client(virtualKeys.user.key)
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('provider_credential_revoked');
      expect(upstream.requests.length).toBe(before);
      // The tenant's own key still serves the tenant-wide virtual key.
      const ok = await client(virtualKeys.tenant.key).chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(ok.choices[0]?.message.content).toBe(TEXT('openai'));
    });

    it('a revoked virtual key is refused on the next request', async () => {
      await change(
        (trx) =>
          trx
            .updateTable('virtualKeys')
            .set({ revokedAt: new Date() })
            .where('keyHash', '=', virtualKeys.tenant.hash)
            .execute(),
        { kind: 'virtual-key', hash: virtualKeys.tenant.hash },
      );
      const error = await client(virtualKeys.tenant.key)
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('revoked_api_key');
    });

    it('an invalid or revoked operator key is an error, never skipped for another operator key', async () => {
      const ask = async () => {
        const before = upstream.requests.length;
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${soloKey.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
        });
        const body = (await res.json()) as { error?: { code: string; message: string } };
        const sent = upstream.requests.slice(before).map((r) => openai.keyOf(r));
        return {
          status: res.status,
          source: res.headers.get('x-keyhold-key-source'),
          code: body.error?.code,
          sent,
        };
      };
      expect(await ask()).toMatchObject({ status: 200, source: 'operator', sent: [operatorKey] });

      // A chat-only operator key outranks the `any` one for chat calls: once it is invalid, chat
      // calls are refused rather than paid with the other key.
      let chatId = '';
      await change(
        async (trx) => {
          chatId = (
            await storeCredential(trx, vault, {
              owner: operatorOwner(),
              provider: 'openai',
              purpose: 'chat',
              secrets: { apiKey: operatorChatKey },
              fields: openai.fields(upstream.url),
            })
          ).id;
          await setCredentialStatus(trx, chatId, 'invalid');
        },
        { kind: 'operator-keys' },
      );
      expect(await ask()).toMatchObject({ status: 401, code: 'provider_credential_invalid', sent: [] });
      await change((trx) => setCredentialStatus(trx, chatId, 'revoked'), { kind: 'operator-keys' });
      expect(await ask()).toMatchObject({ status: 401, code: 'provider_credential_revoked', sent: [] });
      await change((trx) => deleteCredential(trx, chatId), { kind: 'operator-keys' });
      expect(await ask()).toMatchObject({ status: 200, source: 'operator', sent: [operatorKey] });
      // The only operator key, invalid: the error names it, not a missing key.
      await change((trx) => setCredentialStatus(trx, operatorAnyId, 'invalid'), { kind: 'operator-keys' });
      const refused = await ask();
      expect(refused).toMatchObject({ status: 401, code: 'provider_credential_invalid', sent: [] });
    });

    it('no provider key reached the logs', () => {
      expect(logs.length).toBeGreaterThan(0);
      expectNoKeyIn(logs.join('\n'), tenantKey, userKey, operatorKey, operatorChatKey);
    });
  });
}
