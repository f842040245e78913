import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { revealWebhookSecret } from '../routing/directory.js';
import {
  generateWebhookSecret,
  openWebhookSecret,
  sealWebhookSecret,
} from '../vault/alert-webhook-secret.js';
import { checkKeyring } from '../vault/key-check.js';
import { createKeyring } from '../vault/keyring.js';
import { retireKeyVersion, rotateAlertWebhooks } from '../vault/rotation.js';
import { storeCredential } from '../vault/store-credential.js';
import { createVault } from '../vault/vault.js';
import { VaultError } from '../vault/vault-error.js';
import { getAlertWebhookRow, putAlertWebhook } from './alert-webhooks.js';
import { getCredentialRow, tenantOwner } from './credentials.js';
import { createStoreDirectory } from './store-directory.js';
import { withTenant } from './tenant-scope.js';
import { createTenant } from './tenants.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from './testing/backends.js';
import { dumpDatabase } from './testing/dump-database.js';

const key1 = { version: 1, key: randomBytes(32) };
const key2 = { version: 2, key: randomBytes(32) };

const decryptFailure = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof VaultError ? error.code : 'other';
  }
};

for (const backend of BACKENDS) {
  describe(`stored alert webhooks on ${backend}`, () => {
    let database: TestDatabase;
    const v1 = createVault({ keyring: createKeyring([key1]) });
    const tenants: string[] = [];
    const secrets = new Map<string, string>();

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      await checkKeyring(database.db, v1.keyring);
      for (const name of ['alpha', 'beta', 'gamma']) {
        const tenant = await createTenant(database.db, { name });
        const secret = generateWebhookSecret();
        await putAlertWebhook(
          database.db,
          tenant.id,
          `https://${name}.example/h`,
          sealWebhookSecret(v1.keyring, tenant.id, secret),
        );
        tenants.push(tenant.id);
        secrets.set(tenant.id, secret.reveal());
      }
    });
    afterAll(() => database?.close());

    it('holds no secret, nor 8 characters of one, in any table', async () => {
      const dump = await dumpDatabase(database);
      expect(dump).toContain('alpha.example');
      expectNoKeyIn(dump, ...secrets.values());
    });

    it("is read by the tenant's own scope only (row-level security)", async () => {
      const [alpha, beta] = tenants as [string, string];
      const seen = await withTenant(database.db, alpha, (trx) =>
        trx.selectFrom('alertWebhooks').select('tenantId').execute(),
      );
      expect(seen.map((r) => r.tenantId)).toEqual([alpha]);
      const forged = await withTenant(database.db, alpha, (trx) => getAlertWebhookRow(trx, beta));
      expect(forged).toBeUndefined();
      const updated = await withTenant(database.db, alpha, (trx) =>
        trx
          .updateTable('alertWebhooks')
          .set({ url: 'https://evil.example/' })
          .where('tenantId', '=', beta)
          .execute(),
      );
      expect(updated[0]?.numUpdatedRows).toBe(0n);
    });

    it("does not decrypt with another tenant's ciphertext, nor a credential's", async () => {
      const [alpha, beta] = tenants as [string, string];
      const { db } = database;
      const alphaRow = (await getAlertWebhookRow(db, alpha))!;
      expect(openWebhookSecret(v1.keyring, alpha, alphaRow.ciphertext).reveal()).toBe(secrets.get(alpha));
      // Copied into Beta's row: Beta's binding refuses it, through the directory too.
      await db
        .updateTable('alertWebhooks')
        .set({ ciphertext: alphaRow.ciphertext })
        .where('tenantId', '=', beta)
        .execute();
      const betaRow = (await getAlertWebhookRow(db, beta))!;
      expect(decryptFailure(() => openWebhookSecret(v1.keyring, beta, betaRow.ciphertext))).toBe(
        'decrypt_failed',
      );
      const directory = createStoreDirectory({ db, vault: v1, mode: 'shared' });
      try {
        const webhook = (await directory.getTenant(beta))?.settings.alertWebhook;
        expect(webhook?.url).toBe('https://beta.example/h');
        expect(decryptFailure(() => revealWebhookSecret(webhook!))).toBe('decrypt_failed');
        // Alpha's own still opens through the directory, and only when asked to.
        const alphaHook = (await directory.getTenant(alpha))?.settings.alertWebhook;
        expect(typeof alphaHook?.secret).toBe('function');
        expectNoKeyIn(JSON.stringify(alphaHook), secrets.get(alpha)!);
        expect(revealWebhookSecret(alphaHook!).reveal()).toBe(secrets.get(alpha));
      } finally {
        await directory.close();
      }
      // A credential's ciphertext (same master key, same tenant) is no webhook secret either.
      const credential = await storeCredential(db, v1, {
        owner: tenantOwner(alpha),
        provider: 'openai',
        purpose: 'any',
        secrets: { apiKey: `sk-${randomBytes(16).toString('hex')}` },
      });
      const credentialRow = (await getCredentialRow(db, credential.id))!;
      expect(decryptFailure(() => openWebhookSecret(v1.keyring, alpha, credentialRow.ciphertext))).toBe(
        'decrypt_failed',
      );
      // Nor the reverse: a webhook blob in a credential row.
      expect(decryptFailure(() => v1.open({ ...credentialRow, ciphertext: alphaRow.ciphertext }))).toBe(
        'decrypt_failed',
      );
      // Beta gets a fresh secret sealed for it, for the rotation test.
      const secret = generateWebhookSecret();
      await putAlertWebhook(db, beta, 'https://beta.example/h', sealWebhookSecret(v1.keyring, beta, secret));
      secrets.set(beta, secret.reveal());
      await db.deleteFrom('credentials').where('id', '=', credential.id).execute();
    });

    it('is re-encrypted by the rotation, and the old key cannot be retired before', async () => {
      const { db } = database;
      const v2 = createVault({ keyring: createKeyring([key2, key1]) });
      await checkKeyring(db, v2.keyring);
      let refusal: unknown;
      try {
        await retireKeyVersion(db, 1);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(VaultError);
      expect((refusal as VaultError).code).toBe('key_version_in_use');
      expect((refusal as VaultError).message).toContain('3 alert webhook secret(s)');
      // A keyring without version 1 is refused at start-up while a webhook still needs it.
      await expect(checkKeyring(db, createKeyring([key2]))).rejects.toMatchObject({
        code: 'key_version_unknown',
      });

      const before = new Map<string, Uint8Array>();
      for (const id of tenants) before.set(id, (await getAlertWebhookRow(db, id))!.ciphertext);
      const report = await rotateAlertWebhooks(db, v2, { batchSize: 2 });
      expect(report).toEqual({ version: 2, rotated: 3, skipped: 0, failed: [] });
      const only2 = createKeyring([key2]);
      for (const id of tenants) {
        const row = (await getAlertWebhookRow(db, id))!;
        expect(row.keyVersion).toBe(2);
        expect(Buffer.from(row.ciphertext).equals(Buffer.from(before.get(id)!))).toBe(false);
        expect(openWebhookSecret(only2, id, row.ciphertext).reveal()).toBe(secrets.get(id));
      }
      expect(await rotateAlertWebhooks(db, v2)).toEqual({ version: 2, rotated: 0, skipped: 0, failed: [] });
      await retireKeyVersion(db, 1);
      await checkKeyring(db, only2);
      expectNoKeyIn(await dumpDatabase(database), ...secrets.values());
    });

    it('goes with its tenant', async () => {
      const { db } = database;
      const gamma = tenants[2]!;
      await db.deleteFrom('tenants').where('id', '=', gamma).execute();
      expect(await getAlertWebhookRow(db, gamma)).toBeUndefined();
    });
  });
}
