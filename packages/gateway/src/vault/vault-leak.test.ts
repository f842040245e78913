import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { appendAuditEvent } from '../store/audit-log.js';
import {
  findForResolution,
  groupOwner,
  listCredentials,
  operatorOwner,
  tenantOwner,
  userOwner,
} from '../store/credentials.js';
import { createGroup, setMembership } from '../store/groups.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { createUser } from '../store/users.js';
import { checkKeyring } from './key-check.js';
import { createKeyring } from './keyring.js';
import { rotateCredentials } from './rotation.js';
import { loadCredential, storeCredential } from './store-credential.js';
import { createVault } from './vault.js';

const run = promisify(execFile);

/** Every row of every table, with binary columns rendered every way a dump might show them. */
async function dumpTables(database: TestDatabase): Promise<string> {
  const { db } = database;
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    for (const row of rows.rows) {
      for (const value of Object.values(row)) {
        if (value instanceof Uint8Array) {
          const bytes = Buffer.from(value);
          parts.push(
            bytes.toString('hex'),
            bytes.toString('base64'),
            bytes.toString('latin1'),
            bytes.toString('utf8'),
          );
        } else {
          parts.push(JSON.stringify(value) ?? '');
        }
      }
    }
  }
  return parts.join('\n');
}

for (const backend of BACKENDS) {
  describe(`vault leak canaries on ${backend}`, () => {
    let database: TestDatabase;
    const canaries: string[] = [];
    const masterKeys = [randomBytes(32), randomBytes(32)];

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      const { db } = database;
      const first = createVault({ keyring: createKeyring([{ version: 1, key: masterKeys[0]! }]) });
      await checkKeyring(db, first.keyring);
      const tenant = await createTenant(db, { name: 'canary' });
      const user = await createUser(db, {
        tenantId: tenant.id,
        email: 'c@canary.test',
        name: 'C',
        role: 'member',
      });
      const group = await createGroup(db, { tenantId: tenant.id, name: 'g' });
      await setMembership(db, {
        tenantId: tenant.id,
        groupId: group.id,
        userId: user.id,
        mayUseCredentials: true,
      });
      const plant = (prefix: string) => {
        const key = canaryKey(prefix);
        canaries.push(key);
        return key;
      };
      const stored = [
        await storeCredential(db, first, {
          owner: tenantOwner(tenant.id),
          provider: 'openai',
          purpose: 'any',
          secrets: { apiKey: plant('sk-proj') },
        }),
        await storeCredential(db, first, {
          owner: userOwner(tenant.id, user.id),
          provider: 'anthropic',
          purpose: 'chat',
          secrets: { apiKey: plant('sk-ant-api03') },
        }),
        await storeCredential(db, first, {
          owner: groupOwner(tenant.id, group.id),
          provider: 'azure',
          purpose: 'any',
          secrets: { apiKey: plant('az0re') },
          fields: {
            endpoint: 'https://canary.openai.azure.com',
            apiVersion: '2024-10-21',
            deployment: 'gpt-4o',
          },
        }),
        await storeCredential(db, first, {
          owner: tenantOwner(tenant.id),
          provider: 'bedrock',
          purpose: 'any',
          secrets: {
            accessKeyId: plant('AKIA'),
            secretAccessKey: plant('wJalrX'),
            sessionToken: plant('FwoGZX'),
          },
          fields: { region: 'eu-west-1' },
        }),
        await storeCredential(db, first, {
          owner: operatorOwner(),
          provider: 'groq',
          purpose: 'any',
          secrets: { apiKey: plant('gsk') },
        }),
      ];
      for (const credential of stored) {
        await appendAuditEvent(db, {
          tenantId: credential.tenantId,
          actor: 'operator',
          action: 'credential.set',
          targetId: credential.id,
          details: { provider: credential.provider, hint: credential.hint },
        });
      }
      // Rotate too, so both key versions and the rewritten rows are in the dump.
      const second = createVault({
        keyring: createKeyring([
          { version: 2, key: masterKeys[1]! },
          { version: 1, key: masterKeys[0]! },
        ]),
      });
      await checkKeyring(db, second.keyring);
      await rotateCredentials(db, second, { batchSize: 2 });
    });
    afterAll(() => database?.close());

    it('refuses a secret passed as a plain field, so it cannot be stored unencrypted', async () => {
      const { db } = database;
      const vault = createVault({
        keyring: createKeyring([
          { version: 2, key: masterKeys[1]! },
          { version: 1, key: masterKeys[0]! },
        ]),
      });
      const tenantId = (await db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
      const leaked = canaryKey('sk-plain');
      for (const name of ['apiKey', 'secretAccessKey', 'client_secret']) {
        await expect(
          storeCredential(db, vault, {
            owner: tenantOwner(tenantId),
            provider: 'mistral',
            purpose: 'any',
            secrets: { apiKey: canaryKey() },
            fields: { [name]: leaked },
          }),
        ).rejects.toThrow(`Field "${name}" is secret`);
      }
      expectNoKeyIn(await dumpTables(database), leaked);
    });

    it('leaves no key and no 8-character piece of one in any table', async () => {
      const dump = await dumpTables(database);
      expect(dump).toContain('canary.openai.azure.com');
      expectNoKeyIn(dump, ...canaries, ...masterKeys.map((k) => k.toString('base64')));
    });

    it('leaves no key in a full database dump', async () => {
      let dump: string;
      if (backend === 'postgres') {
        dump = (await run('pg_dump', ['--no-owner', database.url!], { maxBuffer: 64 * 1024 * 1024 })).stdout;
        expect(dump).toContain('CREATE TABLE public.credentials');
      } else {
        // PGlite's whole data directory (heap files and WAL) as an uncompressed tarball.
        const archive = await database.pglite!.dumpDataDir('none');
        dump = Buffer.from(await archive.arrayBuffer()).toString('latin1');
        expect(dump).toContain('canary.openai.azure.com');
      }
      expectNoKeyIn(dump, ...canaries, ...masterKeys.map((k) => k.toString('base64')));
      for (const key of masterKeys) expect(dump.includes(key.toString('latin1'))).toBe(false);
    });

    it('returns no key from listings, resolution candidates or opened credentials’ renderings', async () => {
      const { db } = database;
      const vault = createVault({
        keyring: createKeyring([
          { version: 2, key: masterKeys[1]! },
          { version: 1, key: masterKeys[0]! },
        ]),
      });
      const tenantId = (await db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
      const listed = await listCredentials(db, { tenantId });
      const candidates = await findForResolution(db, {
        tenantId,
        groupIds: [],
        provider: 'openai',
        operation: 'chat',
      });
      const opened = await loadCredential(db, vault, candidates[0]!.id);
      expect(opened?.secrets.apiKey?.reveal()).toBe(canaries[0]);
      expectNoKeyIn(allRenderings({ listed, candidates, opened, vault }), ...canaries);
    });
  });
}
