import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createUndiciTransport, type Transport } from '@keyhold/core';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { sendJson, startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { PROVIDER_CASES, TEXT } from '../../test/support/provider-upstreams.js';
import { generateVirtualKey } from '../auth/virtual-key.js';
import { createGateway, type Gateway } from '../create-gateway.js';
import { createEgressAgent, createSsrfPolicy, loadAllowList, saveAllowList } from '../egress/index.js';
import { createLogger } from '../http/logger.js';
import { listAuditEvents, verifyAuditChain } from '../store/audit-log.js';
import {
  type CredentialOwner,
  getCredentialMetadata,
  groupOwner,
  operatorOwner,
  setCredentialStatus,
  tenantOwner,
  userOwner,
} from '../store/credentials.js';
import { changeSourceOf } from '../store/directory-changes.js';
import { createGroup } from '../store/groups.js';
import { createStoreDirectory, type StoreDirectory } from '../store/store-directory.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { dumpDatabase } from '../store/testing/dump-database.js';
import { createUser } from '../store/users.js';
import { createVirtualKey } from '../store/virtual-keys.js';
import { checkKeyring } from '../vault/key-check.js';
import { createKeyring } from '../vault/keyring.js';
import { storeCredential } from '../vault/store-credential.js';
import { createVault, type Vault } from '../vault/vault.js';
import {
  REVALIDATE_ACTOR,
  type RevalidationResult,
  revalidateCredentials,
} from './revalidate-credentials.js';

const openai = PROVIDER_CASES.find((c) => c.provider === 'openai')!;
const anthropic = PROVIDER_CASES.find((c) => c.provider === 'anthropic')!;

for (const backend of BACKENDS) {
  describe(`credential revalidation on ${backend}`, () => {
    let database: TestDatabase;
    let vault: Vault;
    let agent: Agent;
    let transport: Transport;
    let gateway: Gateway;
    let directory: StoreDirectory;
    let url: string;
    const upstreams = {} as Record<'openai' | 'anthropic' | 'flaky', Upstream>;
    const logs: string[] = [];
    const good = { openai: canaryKey('sk-c1'), anthropic: canaryKey('sk-c2') };
    const bad = {
      user: canaryKey('sk-c3'),
      tenantAnthropic: canaryKey('sk-c4'),
      operator: canaryKey('sk-c5'),
      revoked: canaryKey('sk-c6'),
      flaky: canaryKey('sk-c7'),
      gone: canaryKey('sk-c8'),
      vllm: canaryKey('sk-c9'),
      replaced: canaryKey('sk-c10'),
    };
    const allKeys = [...Object.values(good), ...Object.values(bad)];
    const ids: Record<string, string> = {};
    let acme: string;
    let beta: string;
    const virtualKeys = { tenant: generateVirtualKey(), user: generateVirtualKey() };

    beforeAll(async () => {
      // Each upstream accepts one key and refuses any other with the provider's real 401, which
      // quotes the refused key.
      upstreams.openai = await startUpstream((r, res) =>
        openai.keyOf(r) === good.openai ? openai.handle(r, res) : openai.reject(r, res),
      );
      upstreams.anthropic = await startUpstream((r, res) =>
        anthropic.keyOf(r) === good.anthropic ? anthropic.handle(r, res) : anthropic.reject(r, res),
      );
      upstreams.flaky = await startUpstream((_r, res) =>
        sendJson(res, 503, { error: { message: 'overloaded', type: 'server_error' } }),
      );
      // A port nothing listens on: the check cannot connect.
      const closed = await startUpstream(() => undefined);
      const closedPort = (closed.server.address() as AddressInfo).port;
      await closed.close();

      database = await openTestDatabase(backend);
      const { db } = database;
      vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
      await checkKeyring(db, vault.keyring);
      await saveAllowList(db, ['127.0.0.1']);
      agent = createEgressAgent({ policy: createSsrfPolicy({ allowList: await loadAllowList(db) }) });
      transport = createUndiciTransport({ dispatcher: agent });

      acme = (await createTenant(db, { name: 'acme', settings: { defaultModel: 'openai/gpt-4o-mini' } })).id;
      beta = (await createTenant(db, { name: 'beta' })).id;
      const ada = await createUser(db, {
        tenantId: acme,
        email: 'ada@acme.test',
        name: 'Ada',
        role: 'member',
      });
      const bob = await createUser(db, {
        tenantId: beta,
        email: 'bob@beta.test',
        name: 'Bob',
        role: 'member',
      });
      const team = await createGroup(db, { tenantId: acme, name: 'research' });
      const store = async (
        name: string,
        owner: CredentialOwner,
        provider: string,
        key: string,
        fields: object,
      ) => {
        ids[name] = (
          await storeCredential(db, vault, {
            owner,
            provider,
            purpose: 'any',
            secrets: { apiKey: key },
            fields: fields as Record<string, string>,
          })
        ).id;
      };
      const openaiAt = (u: string) => ({ baseURL: `${u}/v1` });
      await store('acmeOpenai', tenantOwner(acme), 'openai', good.openai, openaiAt(upstreams.openai.url));
      await store('adaOpenai', userOwner(acme, ada.id), 'openai', bad.user, openaiAt(upstreams.openai.url));
      await store('teamAnthropic', groupOwner(acme, team.id), 'anthropic', good.anthropic, {
        baseURL: upstreams.anthropic.url,
      });
      await store('acmeAnthropic', tenantOwner(acme), 'anthropic', bad.tenantAnthropic, {
        baseURL: upstreams.anthropic.url,
      });
      await store('operatorOpenai', operatorOwner(), 'openai', bad.operator, openaiAt(upstreams.openai.url));
      await store('betaOpenai', tenantOwner(beta), 'openai', bad.flaky, openaiAt(upstreams.flaky.url));
      await store(
        'bobOpenai',
        userOwner(beta, bob.id),
        'openai',
        bad.revoked,
        openaiAt(upstreams.openai.url),
      );
      await store('betaAnthropic', tenantOwner(beta), 'anthropic', bad.gone, {
        baseURL: `http://127.0.0.1:${closedPort}`,
      });
      await store('betaVllm', tenantOwner(beta), 'vllm', bad.vllm, { baseURL: `${upstreams.openai.url}/v1` });
      // A good key marked invalid earlier (say, during an outage), and a revoked one never checked.
      await setCredentialStatus(db, ids.teamAnthropic!, 'invalid');
      await setCredentialStatus(db, ids.acmeAnthropic!, 'invalid');
      await setCredentialStatus(db, ids.bobOpenai!, 'revoked');

      for (const [name, k] of Object.entries(virtualKeys)) {
        await createVirtualKey(db, {
          tenantId: acme,
          userId: name === 'user' ? ada.id : null,
          keyHash: k.hash,
          prefix: k.prefix,
          hint: k.hint,
          name,
        });
      }
      directory = createStoreDirectory({ db, vault, mode: 'shared', changes: changeSourceOf(database) });
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
        transport,
        maxRetries: 0,
        // Only a change notice can make the gateway see the new statuses within this test.
        cacheTtlMs: 600_000,
      });
      url = await gateway.listen({ port: 0 });
    });

    afterAll(async () => {
      await gateway?.close();
      await agent?.close();
      await database?.close();
      for (const upstream of Object.values(upstreams)) await upstream.close();
    });

    const chat = (key: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as {
          error: { code?: string };
          choices: Array<{ message: { content: string } }>;
        },
      }));

    const byId = (results: RevalidationResult[]) => new Map(results.map((r) => [r.credentialId, r]));
    const status = async (name: string) => (await getCredentialMetadata(database.db, ids[name]!))?.status;

    it('a dry run reports what it would do and writes nothing', async () => {
      const before = await dumpDatabase(database);
      const results = byId(await revalidateCredentials({ db: database.db, vault, transport, dryRun: true }));
      expect(results.get(ids.adaOpenai!)).toMatchObject({
        verdict: 'invalid',
        before: 'active',
        after: 'invalid',
      });
      expect(results.get(ids.teamAnthropic!)).toMatchObject({ verdict: 'valid', after: 'active' });
      expect(await status('adaOpenai')).toBe('active');
      expect(await status('teamAnthropic')).toBe('invalid');
      expect(await dumpDatabase(database)).toBe(before);
    });

    it('warms the gateway: the user key is refused upstream, the tenant key answers', async () => {
      const ok = await chat(virtualKeys.tenant.key);
      expect(ok.status).toBe(200);
      expect(ok.body.choices[0]?.message.content).toBe(TEXT('openai'));
      // Before revalidation the user's stored key is active, so the gateway tries it.
      const refused = await chat(virtualKeys.user.key);
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).not.toBe('provider_credential_invalid');
    });

    it('flips statuses by what each provider answers; leaves transient failures and revoked keys alone', async () => {
      const started = new Date(Date.now() - 1000);
      const results = await revalidateCredentials({ db: database.db, vault, transport, concurrency: 3 });
      const got = byId(results);
      // Revoked credentials are out of scope.
      expect(got.has(ids.bobOpenai!)).toBe(false);
      expect(results).toHaveLength(8);
      expect(got.get(ids.acmeOpenai!)).toMatchObject({ verdict: 'valid', before: 'active', after: 'active' });
      expect(got.get(ids.adaOpenai!)).toMatchObject({
        verdict: 'invalid',
        code: 'authentication_error',
        before: 'active',
        after: 'invalid',
        ownerLabel: 'user:ada@acme.test',
        tenantName: 'acme',
        hint: `…${bad.user.slice(-4)}`,
      });
      expect(got.get(ids.teamAnthropic!)).toMatchObject({
        verdict: 'valid',
        before: 'invalid',
        after: 'active',
        ownerLabel: 'group:research',
      });
      expect(got.get(ids.acmeAnthropic!)).toMatchObject({
        verdict: 'invalid',
        before: 'invalid',
        after: 'invalid',
      });
      expect(got.get(ids.operatorOpenai!)).toMatchObject({
        verdict: 'invalid',
        tenantId: null,
        ownerLabel: 'operator',
        after: 'invalid',
      });
      expect(got.get(ids.betaOpenai!)).toMatchObject({
        verdict: 'unchecked',
        code: 'provider_unavailable',
        after: 'active',
      });
      expect(got.get(ids.betaAnthropic!)).toMatchObject({ verdict: 'unchecked', after: 'active' });
      expect(got.get(ids.betaVllm!)).toMatchObject({ verdict: 'unchecked', code: 'no_validation_model' });

      expect(await status('acmeOpenai')).toBe('active');
      expect(await status('adaOpenai')).toBe('invalid');
      expect(await status('teamAnthropic')).toBe('active');
      expect(await status('acmeAnthropic')).toBe('invalid');
      expect(await status('operatorOpenai')).toBe('invalid');
      expect(await status('betaOpenai')).toBe('active');
      expect(await status('bobOpenai')).toBe('revoked');
      const validated = (await getCredentialMetadata(database.db, ids.acmeOpenai!))?.validatedAt;
      expect(validated?.getTime()).toBeGreaterThan(started.getTime());
      expect((await getCredentialMetadata(database.db, ids.betaOpenai!))?.validatedAt).toBeNull();
      // Every check went to the upstream with the stored key; none carried the revoked one.
      const sent = upstreams.openai.requests.map((r) => openai.keyOf(r));
      expect(sent).not.toContain(bad.revoked);
      expect(sent).toContain(bad.operator);
      expectNoKeyIn(allRenderings(results), ...allKeys);
    });

    it('audits each status change (hint only) and nothing else', async () => {
      const acmeEvents = (await listAuditEvents(database.db, acme)).filter(
        (e) => e.actor === REVALIDATE_ACTOR,
      );
      expect(acmeEvents.map((e) => [e.targetId, e.action, e.details.from, e.details.to]).sort()).toEqual(
        [
          [ids.adaOpenai, 'credential.revalidate', 'active', 'invalid'],
          [ids.teamAnthropic, 'credential.revalidate', 'invalid', 'active'],
        ].sort(),
      );
      expect(acmeEvents.find((e) => e.targetId === ids.adaOpenai)?.details).toMatchObject({
        provider: 'openai',
        owner_kind: 'user',
        hint: `…${bad.user.slice(-4)}`,
        check: 'authentication_error',
      });
      const operatorEvents = (await listAuditEvents(database.db, null)).filter(
        (e) => e.actor === REVALIDATE_ACTOR,
      );
      expect(operatorEvents.map((e) => e.targetId)).toEqual([ids.operatorOpenai]);
      expect((await listAuditEvents(database.db, beta)).filter((e) => e.actor === REVALIDATE_ACTOR)).toEqual(
        [],
      );
      expect((await verifyAuditChain(database.db)).ok).toBe(true);
    });

    it('the gateway sees the new statuses at once: an invalid user key is an error, never a fall-through', async () => {
      const before = upstreams.openai.requests.length;
      const refused = await chat(virtualKeys.user.key);
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('provider_credential_invalid');
      // Refused before any upstream call: the tenant's good key was not used instead.
      expect(upstreams.openai.requests.length).toBe(before);
      expect((await chat(virtualKeys.tenant.key)).status).toBe(200);
    });

    it('a key replaced while it was checked is not overwritten', async () => {
      // An active key the provider refuses, replaced by a good one while the check is in flight:
      // the check of the old key must not mark the new one invalid.
      await storeCredential(database.db, vault, {
        owner: tenantOwner(acme),
        provider: 'anthropic',
        purpose: 'any',
        secrets: { apiKey: bad.replaced },
        fields: { baseURL: upstreams.anthropic.url },
      });
      let replaced = false;
      const results = await revalidateCredentials({
        db: database.db,
        vault,
        transport: {
          async request(req) {
            if (!replaced) {
              replaced = true;
              await storeCredential(database.db, vault, {
                owner: tenantOwner(acme),
                provider: 'anthropic',
                purpose: 'any',
                secrets: { apiKey: good.anthropic },
                fields: { baseURL: upstreams.anthropic.url },
              });
            }
            return transport.request(req);
          },
        },
        tenantId: acme,
        provider: 'anthropic',
        concurrency: 1,
      });
      expect(results.map((r) => r.verdict).sort()).toEqual(['superseded', 'valid']);
      expect(await status('acmeAnthropic')).toBe('active');
    });

    it('no key, nor any 8 characters of one, in the database, the results or the logs', async () => {
      expectNoKeyIn(await dumpDatabase(database), ...allKeys);
      expect(logs.length).toBeGreaterThan(0);
      expectNoKeyIn(logs.join('\n'), ...allKeys);
    });
  });
}
