import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { PROVIDER_CASES } from '../../test/support/provider-upstreams.js';
import { saveAllowList } from '../egress/index.js';
import { getCredentialMetadata, operatorOwner, tenantOwner, userOwner } from '../store/credentials.js';
import { createDatabase, type Database } from '../store/database.js';
import type { Schema } from '../store/schema.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { dumpDatabase } from '../store/testing/dump-database.js';
import { createUser } from '../store/users.js';
import { checkKeyring } from '../vault/key-check.js';
import { loadKeyring } from '../vault/keyring.js';
import { storeCredential } from '../vault/store-credential.js';
import { createVault } from '../vault/vault.js';
import type { CliIo } from './cli-io.js';
import { main } from './run-command.js';

const openai = PROVIDER_CASES.find((c) => c.provider === 'openai')!;
const anthropic = PROVIDER_CASES.find((c) => c.provider === 'anthropic')!;

for (const backend of BACKENDS) {
  describe(`keyhold credentials revalidate on ${backend}`, { timeout: 60_000 }, () => {
    const masterKeys = `1:${randomBytes(32).toString('base64')}`;
    const good = canaryKey('sk-r1');
    const goodBeta = canaryKey('sk-r2');
    const badUser = canaryKey('sk-r3');
    const badOperator = canaryKey('sk-r4');
    const keys = [good, goodBeta, badUser, badOperator, masterKeys.slice(2)];
    let upstreams: Upstream[];
    let dataDir: string | undefined;
    let server: TestDatabase | undefined;
    let env: Record<string, string>;
    const ids: Record<string, string> = {};
    const printed: string[] = [];

    /** The store the command works on, opened by the test between runs. */
    const withStore = async <T>(fn: (db: Kysely<Schema>, database: Database) => Promise<T>): Promise<T> => {
      if (server) return fn(server.db, server);
      const database = await createDatabase({ dataDir: join(dataDir!, 'pglite') });
      try {
        return await fn(database.db, database);
      } finally {
        await database.close();
      }
    };
    const status = (name: string) =>
      withStore(async (db) => (await getCredentialMetadata(db, ids[name]!))?.status);

    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { env, out: (t) => out.push(t), err: (t) => err.push(t) };
      const code = await main(
        ['credentials', 'revalidate', ...args, ...(dataDir ? ['--data-dir', dataDir] : [])],
        io,
      );
      printed.push(...out, ...err);
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    };

    beforeAll(async () => {
      upstreams = [
        await startUpstream((r, res) =>
          openai.keyOf(r) === good || openai.keyOf(r) === goodBeta
            ? openai.handle(r, res)
            : openai.reject(r, res),
        ),
        await startUpstream((r, res) => anthropic.reject(r, res)),
      ];
      const [openaiUrl, anthropicUrl] = upstreams.map((u) => u.url);
      if (backend === 'postgres') {
        server = await openTestDatabase('postgres');
        env = { DATABASE_URL: server.url!, KEYHOLD_MASTER_KEYS: masterKeys };
      } else {
        dataDir = mkdtempSync(join(tmpdir(), 'keyhold-revalidate-'));
        env = { KEYHOLD_MASTER_KEYS: masterKeys };
      }
      await withStore(async (db) => {
        const vault = createVault({ keyring: loadKeyring(env) });
        await checkKeyring(db, vault.keyring);
        const acme = await createTenant(db, { name: 'acme' });
        const beta = await createTenant(db, { name: 'beta' });
        const ada = await createUser(db, {
          tenantId: acme.id,
          email: 'ada@acme.test',
          name: 'Ada',
          role: 'member',
        });
        const save = async (
          name: string,
          owner: Parameters<typeof storeCredential>[2]['owner'],
          provider: string,
          key: string,
          baseURL: string,
        ) => {
          ids[name] = (
            await storeCredential(db, vault, {
              owner,
              provider,
              purpose: 'any',
              secrets: { apiKey: key },
              fields: { baseURL },
            })
          ).id;
        };
        await save('acme', tenantOwner(acme.id), 'openai', good, `${openaiUrl}/v1`);
        await save('ada', userOwner(acme.id, ada.id), 'openai', badUser, `${openaiUrl}/v1`);
        await save('beta', tenantOwner(beta.id), 'openai', goodBeta, `${openaiUrl}/v1`);
        await save('operator', operatorOwner(), 'anthropic', badOperator, anthropicUrl!);
      });
    });

    afterAll(async () => {
      for (const upstream of upstreams ?? []) await upstream.close();
      await server?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('checks through the egress guard: loopback upstreams are refused until the operator allow-lists them', async () => {
      const before = upstreams[0]!.requests.length;
      const result = await run();
      expect(result.code).toBe(4);
      expect(result.stdout).toContain('unchecked: ');
      expect(result.stdout).toContain(
        'Checked 4 credential(s): 0 valid (0 reactivated), 0 invalid (0 newly marked), 4 not checked.',
      );
      expect(upstreams[0]!.requests.length).toBe(before);
      expect(await status('ada')).toBe('active');
      await withStore((db) => saveAllowList(db, ['127.0.0.1']));
    });

    it('--dry-run prints what it would do and writes nothing', async () => {
      const result = await run('--dry-run');
      expect(result.code).toBe(3);
      const lines = result.stdout.split('\n');
      expect(lines[0]).toMatch(/^CREDENTIAL\s+TENANT\s+OWNER\s+PROVIDER\s+KEY\s+RESULT$/);
      const ada = lines.find((l) => l.startsWith(ids.ada!))!;
      expect(ada).toMatch(
        /acme\s+user:ada@acme\.test\s+openai\s+…\S{4}\s+invalid: would mark invalid \(authentication_error\)/,
      );
      expect(ada).toContain(`…${badUser.slice(-4)}`);
      expect(result.stdout).toContain('Dry run (nothing written)');
      expect(await status('ada')).toBe('active');
      expect(await status('operator')).toBe('active');
    });

    it('--tenant and --provider narrow the scope; refused keys are marked invalid (exit 3)', async () => {
      const result = await run('--tenant', 'acme', '--provider', 'openai');
      expect(result.code).toBe(3);
      const rows = result.stdout.split('\n').slice(1, -1);
      expect(rows).toHaveLength(2);
      expect(rows.find((l) => l.startsWith(ids.acme!))).toMatch(/acme\s+tenant\s+openai\s+…\S{4}\s+valid$/);
      expect(rows.find((l) => l.startsWith(ids.ada!))).toContain(
        'invalid: marked invalid (authentication_error)',
      );
      expect(await status('ada')).toBe('invalid');
      expect(await status('operator')).toBe('active');
      const validated = await withStore(
        async (db) => (await getCredentialMetadata(db, ids.acme!))?.validatedAt,
      );
      expect(validated).toBeInstanceOf(Date);
    });

    it('--tenant operator checks the operator keys only', async () => {
      const result = await run('--tenant', 'operator');
      expect(result.code).toBe(3);
      expect(result.stdout.split('\n')).toHaveLength(3);
      expect(result.stdout).toMatch(/operator\s+operator\s+anthropic\s+…\S{4}\s+invalid: marked invalid/);
      expect(await status('operator')).toBe('invalid');
    });

    it('exit 0 when every key in scope is accepted', async () => {
      const result = await run('--tenant', 'beta');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/beta\s+tenant\s+openai\s+…\S{4}\s+valid$/m);
      expect(result.stdout).toContain('Checked 1 credential(s): 1 valid');
    });

    it('usage errors exit 2, an unknown tenant 1', async () => {
      expect((await run('--provider', 'nope')).code).toBe(2);
      expect((await run('--concurrency', '0')).code).toBe(2);
      expect((await run('--model', 'nonsense')).code).toBe(2);
      const missing = await run('--tenant', 'nobody');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No tenant "nobody"');
    });

    it('printed no key and stored none (the upstreams echo refused keys in their 401 bodies)', async () => {
      expect(printed.join('\n')).toContain('…');
      expectNoKeyIn(printed.join('\n'), ...keys);
      const dump = await withStore(async (_db, database) => dumpDatabase(database));
      expect(dump).toContain('system:revalidate');
      expectNoKeyIn(dump, ...keys);
    });
  });
}
