import { randomBytes } from 'node:crypto';
import { createUndiciTransport } from '@keyhold/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../../core/test/support/leaks.js';
import { startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { PROVIDER_CASES, TEXT } from '../../test/support/provider-upstreams.js';
import { createAdminApi } from '../admin/admin-api.js';
import { generateVirtualKey } from '../auth/virtual-key.js';
import { createGateway, type Gateway } from '../create-gateway.js';
import { createLogger } from '../http/logger.js';
import type { DirectoryChange } from '../routing/directory.js';
import { tenantOwner } from '../store/credentials.js';
import { createDatabase, type Database } from '../store/database.js';
import { changeSourceOf } from '../store/directory-changes.js';
import { createStoreDirectory, type StoreDirectory } from '../store/store-directory.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { createVirtualKey } from '../store/virtual-keys.js';
import { checkKeyring } from '../vault/key-check.js';
import { createKeyring } from '../vault/keyring.js';
import { storeCredential } from '../vault/store-credential.js';
import { createVault } from '../vault/vault.js';
import { saveAllowList } from './allow-list-store.js';
import { type AllowListSync, followAllowList } from './allow-list-sync.js';
import { createEgressDispatcher, type EgressDispatcher } from './egress-agent.js';
import { createSsrfPolicy, type SsrfPolicy } from './ssrf-policy.js';

const openai = PROVIDER_CASES.find((c) => c.provider === 'openai')!;

for (const backend of BACKENDS) {
  // Instance A takes the operator's change through its admin API; instance B — on PostgreSQL its
  // own connection pool and LISTEN connection — serves a tenant whose endpoint is on loopback.
  describe(`egress allow-list changes reach every instance on ${backend}`, () => {
    let database: TestDatabase;
    let second: Database;
    let upstream: Upstream;
    let admin: FastifyInstance;
    let directoryB: StoreDirectory;
    let policyB: SsrfPolicy;
    let syncB: AllowListSync;
    let dispatcherB: EgressDispatcher;
    let gatewayB: Gateway;
    let urlB: string;
    const operatorToken = `op-${randomBytes(16).toString('hex')}`;
    const virtualKey = generateVirtualKey();

    beforeAll(async () => {
      upstream = await startUpstream((r, res) => openai.handle(r, res));
      database = await openTestDatabase(backend);
      second = database.url ? await createDatabase({ url: database.url, maxConnections: 2 }) : database;
      const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
      await checkKeyring(database.db, vault.keyring);
      const tenant = await createTenant(database.db, {
        name: 'acme',
        settings: { defaultModel: 'openai/gpt-4o-mini' },
      });
      // Stored directly: the save-time check would refuse this loopback endpoint.
      await storeCredential(database.db, vault, {
        owner: tenantOwner(tenant.id),
        provider: 'openai',
        purpose: 'any',
        secrets: { apiKey: canaryKey('sk-egress') },
        fields: openai.fields(upstream.url),
      });
      await createVirtualKey(database.db, {
        tenantId: tenant.id,
        keyHash: virtualKey.hash,
        prefix: virtualKey.prefix,
        hint: virtualKey.hint,
        name: 'k',
      });

      admin = Fastify();
      await admin.register(
        createAdminApi({ db: database.db, vault, operatorToken, ssrf: createSsrfPolicy() }),
      );
      await admin.ready();

      directoryB = createStoreDirectory({
        db: second.db,
        vault,
        mode: 'shared',
        changes: changeSourceOf(second),
      });
      await directoryB.ready;
      policyB = createSsrfPolicy();
      dispatcherB = createEgressDispatcher({ policy: policyB });
      syncB = followAllowList({
        subscribe: (l) => directoryB.subscribe(l),
        db: second.db,
        policy: policyB,
        onEntriesRemoved: () => dispatcherB.reset(),
      });
      await syncB.settled();
      gatewayB = createGateway({
        directory: directoryB,
        transport: createUndiciTransport({ dispatcher: dispatcherB }),
        logger: createLogger({ level: 'silent' }),
        maxRetries: 0,
      });
      urlB = await gatewayB.listen({ port: 0 });
    });

    afterAll(async () => {
      await gatewayB?.close();
      syncB?.close();
      await dispatcherB?.close();
      await admin?.close();
      if (second && second !== database) await second.close();
      await database?.close();
      await upstream?.close();
    });

    const chatOnB = async () => {
      const before = upstream.requests.length;
      const res = await fetch(`${urlB}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${virtualKey.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
      });
      const body = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
      return {
        status: res.status,
        text: body.choices?.[0]?.message.content,
        reached: upstream.requests.length - before,
      };
    };

    /** The operator sets the allow-list on instance A; resolves once B has reloaded it. */
    const setOnA = async (hosts: string[]) => {
      const heard = new Promise<void>((resolve) => {
        const off = directoryB.subscribe((change: DirectoryChange) => {
          if (change.kind === 'egress-allow-list') {
            off();
            resolve();
          }
        });
      });
      const res = await admin.inject({
        method: 'PUT',
        url: '/api/v1/egress/allow-list',
        headers: { authorization: `Bearer ${operatorToken}` },
        payload: { hosts },
      });
      expect(res.statusCode).toBe(200);
      await heard;
      await syncB.settled();
    };

    it('B refuses the loopback endpoint while the allow-list is empty', async () => {
      expect(policyB.allowList()).toEqual([]);
      const refused = await chatOnB();
      expect(refused.status).toBeGreaterThanOrEqual(500);
      expect(refused.reached).toBe(0);
    });

    it("the operator's change on A takes effect on B's next request, both ways", async () => {
      await setOnA(['127.0.0.1']);
      expect(policyB.allowList()).toEqual(['127.0.0.1']);
      expect(await chatOnB()).toEqual({ status: 200, text: TEXT('openai'), reached: 1 });

      // The connection B opened while it was allowed is kept alive in B's pool: removing the
      // entry must drop it, not leave it serving the endpoint.
      await setOnA([]);
      expect(policyB.allowList()).toEqual([]);
      const refused = await chatOnB();
      expect(refused.status).toBeGreaterThanOrEqual(500);
      expect(refused.reached).toBe(0);
    });

    it('after a lost connection (when notices may have been missed) B reads the list again', async () => {
      // Written without a notice, as if B had been disconnected when it was announced.
      await saveAllowList(database.db, ['10.9.8.7']);
      const heard = new Promise<void>((resolve) => {
        const off = directoryB.subscribe((change) => {
          if (change.kind === 'all') {
            off();
            resolve();
          }
        });
      });
      // What B's listener reports after reconnecting; an unreadable notice is read the same way.
      await sql`select pg_notify('keyhold_directory', 'not json')`.execute(database.db);
      await heard;
      await syncB.settled();
      expect(policyB.allowList()).toEqual(['10.9.8.7']);
    });
  });
}
