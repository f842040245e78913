import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantOwner } from '../store/credentials.js';
import { createTenant } from '../store/tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { listVaultKeys } from '../store/vault-keys.js';
import { checkKeyring } from './key-check.js';
import { createKeyring } from './keyring.js';
import { retireKeyVersion, rotateCredentials } from './rotation.js';
import { storeCredential } from './store-credential.js';
import { createVault } from './vault.js';
import { VaultError } from './vault-error.js';

const key1 = randomBytes(32);
const key2 = randomBytes(32);

async function rejection(promise: Promise<unknown>): Promise<VaultError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  return error as VaultError;
}

for (const backend of BACKENDS) {
  describe(`master key checks on ${backend}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase(backend);
    });
    afterAll(() => database?.close());

    it('records a check value per version the first time and accepts the same keys after', async () => {
      const { db } = database;
      const keyring = createKeyring([{ version: 1, key: key1 }]);
      expect(await checkKeyring(db, keyring)).toEqual({ recorded: [1] });
      expect(await checkKeyring(db, keyring)).toEqual({ recorded: [] });
      const stored = await listVaultKeys(db);
      expect(stored.map((k) => k.version)).toEqual([1]);
      expect(stored[0]?.checkValue.includes(key1)).toBe(false);
    });

    it('refuses a wrong key for a known version, naming the version and not the key', async () => {
      const { db } = database;
      const wrong = randomBytes(32);
      const error = await rejection(checkKeyring(db, createKeyring([{ version: 1, key: wrong }])));
      expect(error.code).toBe('master_key_mismatch');
      expect(error.message).toContain('version 1');
      expect(error.message).not.toContain(wrong.toString('base64').slice(0, 8));
    });

    it('refuses a keyring that lacks a version stored credentials use', async () => {
      const { db } = database;
      const tenant = await createTenant(db, { name: 'K' });
      const vault = createVault({ keyring: createKeyring([{ version: 1, key: key1 }]) });
      await storeCredential(db, vault, {
        owner: tenantOwner(tenant.id),
        provider: 'openai',
        purpose: 'any',
        secrets: { apiKey: 'sk-test-0123456789abcdef' },
      });
      const onlyNew = createKeyring([{ version: 2, key: key2 }]);
      const error = await rejection(checkKeyring(db, onlyNew));
      expect(error.code).toBe('key_version_unknown');
      expect(error.message).toContain('version 1');
    });

    it('retires a version only once nothing uses it, and then refuses it as the newest', async () => {
      const { db } = database;
      const both = createKeyring([
        { version: 2, key: key2 },
        { version: 1, key: key1 },
      ]);
      await checkKeyring(db, both);
      expect((await rejection(retireKeyVersion(db, 1))).code).toBe('key_version_in_use');
      const report = await rotateCredentials(db, createVault({ keyring: both }));
      expect(report).toMatchObject({ version: 2, failed: [] });
      expect(report.rotated).toBeGreaterThan(0);
      await retireKeyVersion(db, 1);
      expect((await listVaultKeys(db)).find((k) => k.version === 1)?.retiredAt).toBeInstanceOf(Date);
      expect((await rejection(checkKeyring(db, createKeyring([{ version: 1, key: key1 }])))).code).toBe(
        'key_version_retired',
      );
      expect(await checkKeyring(db, createKeyring([{ version: 2, key: key2 }]))).toEqual({ recorded: [] });
      expect((await rejection(retireKeyVersion(db, 9))).code).toBe('key_version_unknown');
    });
  });
}
