import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCredentialRow, listCredentials, replaceSealedSecret, tenantOwner } from '../store/credentials.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { keyVersionOf } from './ciphertext-format.js';
import { checkKeyring } from './key-check.js';
import { createKeyring } from './keyring.js';
import { rotateCredentials } from './rotation.js';
import { loadCredential, storeCredential } from './store-credential.js';
import { createVault } from './vault.js';

const PROVIDERS = ['openai', 'anthropic', 'mistral', 'groq', 'together'];
const key1 = { version: 1, key: randomBytes(32) };
const key2 = { version: 2, key: randomBytes(32) };

for (const backend of BACKENDS) {
  describe(`key rotation on ${backend}`, () => {
    let database: TestDatabase;
    const expected = new Map<string, string>();

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      const { db } = database;
      const oldVault = createVault({ keyring: createKeyring([key1]) });
      await checkKeyring(db, oldVault.keyring);
      for (let t = 0; t < 8; t++) {
        const tenant = await createTenant(db, { name: `rot-${t}` });
        for (const provider of PROVIDERS) {
          const apiKey = `sk-${provider}-${randomBytes(16).toString('hex')}`;
          const stored = await storeCredential(db, oldVault, {
            owner: tenantOwner(tenant.id),
            provider,
            purpose: 'any',
            secrets: { apiKey },
          });
          expected.set(stored.id, apiKey);
        }
      }
    });
    afterAll(() => database?.close());

    it('re-encrypts every credential while concurrent readers and writers keep working', async () => {
      const { db } = database;
      const vault = createVault({ keyring: createKeyring([key2, key1]) });
      await checkKeyring(db, vault.keyring);
      const ids = [...expected.keys()];
      let done = false;
      let reads = 0;
      const readErrors: unknown[] = [];
      // While a write is in flight a reader may see the old or the new key: both are right.
      const inFlight = new Map<string, string>();
      const reader = async () => {
        for (let i = 0; !done && readErrors.length < 5; i++) {
          const id = ids[(i * 7 + reads) % ids.length]!;
          // What a read may see: the key when it started or the one being written then (its
          // snapshot can predate the write's commit even if it answers after it), or what is
          // current or in flight when it answers.
          const allowed = new Set([expected.get(id), inFlight.get(id)]);
          try {
            const credential = await loadCredential(db, vault, id);
            const seen = credential?.secrets.apiKey?.reveal();
            allowed.add(expected.get(id));
            allowed.add(inFlight.get(id));
            if (seen === undefined || !allowed.has(seen)) readErrors.push(new Error(`wrong key for ${id}`));
            reads++;
          } catch (error) {
            readErrors.push(error);
          }
        }
      };
      // A writer replaces some secrets during the rotation: its newer values must survive.
      const writer = async () => {
        for (const id of ids.slice(0, 10)) {
          const row = await getCredentialRow(db, id);
          const apiKey = `sk-new-${randomBytes(16).toString('hex')}`;
          inFlight.set(id, apiKey);
          await storeCredential(db, vault, {
            owner: tenantOwner(row!.tenantId!),
            provider: row!.provider,
            purpose: 'any',
            secrets: { apiKey },
          });
          expected.set(id, apiKey);
          inFlight.delete(id);
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      const readers = [reader(), reader(), reader()];
      let report: Awaited<ReturnType<typeof rotateCredentials>>;
      try {
        [report] = await Promise.all([rotateCredentials(db, vault, { batchSize: 4 }), writer()]);
      } finally {
        done = true;
        await Promise.all(readers);
      }

      expect(readErrors).toEqual([]);
      expect(reads).toBeGreaterThan(0);
      expect(report.failed).toEqual([]);
      // Rows the writer re-sealed first are already on version 2: skipped or never listed.
      expect(report.rotated).toBeGreaterThanOrEqual(ids.length - 10);
      expect(report.rotated + report.skipped).toBeLessThanOrEqual(ids.length);
      const all = await listCredentials(db, { tenantId: null }).then(async () =>
        Promise.all(ids.map((id) => getCredentialRow(db, id))),
      );
      for (const row of all) {
        expect(row?.keyVersion).toBe(2);
        expect(keyVersionOf(row!.ciphertext)).toBe(2);
        expect(vault.open(row!).secrets.apiKey?.reveal()).toBe(expected.get(row!.id));
      }
      // The old key alone can no longer read anything.
      const oldOnly = createVault({ keyring: createKeyring([key1]) });
      expect(() => oldOnly.open(all[0]!)).toThrow();
    });

    it('does not overwrite a row that changed since it was read (compare-and-set)', async () => {
      const { db } = database;
      const vault = createVault({ keyring: createKeyring([key2, key1]) });
      const id = [...expected.keys()][20]!;
      const stale = await getCredentialRow(db, id);
      const resealed = vault.reseal(stale!);
      const apiKey = `sk-fresh-${randomBytes(16).toString('hex')}`;
      await storeCredential(db, vault, {
        owner: tenantOwner(stale!.tenantId!),
        provider: stale!.provider,
        purpose: 'any',
        secrets: { apiKey },
      });
      expect(await replaceSealedSecret(db, id, stale!.ciphertext, resealed)).toBe(false);
      expect((await loadCredential(db, vault, id))?.secrets.apiKey?.reveal()).toBe(apiKey);
    });

    it('reports rows that do not decrypt and rotates the rest', async () => {
      const { db } = database;
      const v3 = createVault({ keyring: createKeyring([{ version: 3, key: randomBytes(32) }, key2, key1]) });
      const ids = [...expected.keys()];
      const victim = await getCredentialRow(db, ids[5]!);
      const broken = Buffer.from(victim!.ciphertext);
      broken[broken.length - 1] = broken[broken.length - 1]! ^ 0xff;
      await replaceSealedSecret(db, victim!.id, victim!.ciphertext, {
        ciphertext: broken,
        keyVersion: 2,
        hint: victim!.hint,
      });
      const report = await rotateCredentials(db, v3, { batchSize: 7 });
      expect(report.failed).toEqual([{ credentialId: victim!.id, code: 'decrypt_failed' }]);
      expect(report.rotated).toBe(ids.length - 1);
    });
  });
}
