import type { Kysely } from 'kysely';
import {
  alertWebhooksNotAtVersion,
  countAlertWebhooksAtVersion,
  getAlertWebhookRow,
  replaceAlertWebhookCiphertext,
} from '../store/alert-webhooks.js';
import {
  countCredentialsAtVersion,
  credentialsNotAtVersion,
  getCredentialRow,
  replaceSealedSecret,
  type SealedSecret,
} from '../store/credentials.js';
import type { Schema } from '../store/schema.js';
import { listVaultKeys, markVaultKeyRetired } from '../store/vault-keys.js';
import { resealWebhookSecret, type SealedWebhookSecret } from './alert-webhook-secret.js';
import type { Vault } from './vault.js';
import { VaultError, type VaultErrorCode } from './vault-error.js';

/*
 * Master key rotation rules.
 *
 * 1. The newest version in the keyring encrypts; every version in the keyring decrypts. A
 *    version number, once used, always means the same key (the check value in `vault_keys`
 *    refuses a different key under a known version at start-up).
 * 2. To rotate: `keyhold keys generate` a new version, put it first in every instance's keyring
 *    while keeping the old entries, restart the instances (rolling), then run
 *    `keyhold keys rotate`. From the restart on, new and updated credentials use the new key.
 * 3. `rotateCredentials` re-encrypts row by row, each in its own single-statement transaction
 *    with a compare-and-set on the old ciphertext: a credential updated meanwhile (already on the
 *    newest key) wins and the rotation leaves it alone. Readers never wait for the rotation and
 *    never fail: whichever blob they read, its key is still in the keyring. Nothing is locked
 *    for longer than one row's update.
 * 4. Rows that do not decrypt (altered, or sealed with a key not in the keyring) are reported,
 *    not skipped silently and not overwritten; the rotation goes on with the others.
 * 5. Tenants' alert-webhook signing secrets are sealed with the same keys: `rotateAlertWebhooks`
 *    re-encrypts them by the same rules (`keyhold keys rotate` runs both).
 * 6. Only when no ciphertext uses a version: `retireKeyVersion` marks it retired, and then it may
 *    be removed from the keyrings. Start-up refuses a keyring that lacks a version still in use
 *    and a keyring whose newest version is retired.
 */

export interface RotationReport {
  /** The version everything was re-encrypted to. */
  version: number;
  rotated: number;
  /** Rows changed by someone else in the meantime (already on the newest key). */
  skipped: number;
  failed: Array<{ credentialId: string; code: VaultErrorCode | 'unknown' }>;
}

/**
 * Re-encrypts every credential to the keyring's newest version, in batches, while the gateway
 * keeps serving (see the rules above).
 *
 * @example
 * const report = await rotateCredentials(db, createVault({ keyring: loadKeyring() }));
 */
export async function rotateCredentials(
  db: Kysely<Schema>,
  vault: Vault,
  options: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<RotationReport> {
  const version = vault.keyring.current;
  const report: RotationReport = { version, rotated: 0, skipped: 0, failed: [] };
  let after: string | undefined;
  for (;;) {
    const ids = await credentialsNotAtVersion(db, version, options.batchSize ?? 50, after);
    if (ids.length === 0) break;
    for (const id of ids) await rotateOne(db, vault, id, report);
    after = ids[ids.length - 1];
    options.onBatch?.(report.rotated + report.skipped + report.failed.length);
  }
  return report;
}

async function rotateOne(
  db: Kysely<Schema>,
  vault: Vault,
  id: string,
  report: RotationReport,
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await getCredentialRow(db, id);
    if (!row || row.keyVersion === vault.keyring.current) {
      report.skipped++;
      return;
    }
    let sealed: SealedSecret;
    try {
      sealed = vault.reseal(row);
    } catch (error) {
      report.failed.push({ credentialId: id, code: error instanceof VaultError ? error.code : 'unknown' });
      return;
    }
    if (await replaceSealedSecret(db, id, row.ciphertext, sealed)) {
      report.rotated++;
      return;
    }
  }
  report.skipped++;
}

export interface WebhookRotationReport {
  version: number;
  rotated: number;
  skipped: number;
  failed: Array<{ tenantId: string; code: VaultErrorCode | 'unknown' }>;
}

/**
 * Re-encrypts every tenant's alert-webhook secret to the keyring's newest version, by the rules
 * above (row by row, compare-and-set, failures reported).
 *
 * @example
 * const report = await rotateAlertWebhooks(db, vault);
 */
export async function rotateAlertWebhooks(
  db: Kysely<Schema>,
  vault: Vault,
  options: { batchSize?: number } = {},
): Promise<WebhookRotationReport> {
  const { keyring } = vault;
  const version = keyring.current;
  const report: WebhookRotationReport = { version, rotated: 0, skipped: 0, failed: [] };
  let after: string | undefined;
  for (;;) {
    const tenantIds = await alertWebhooksNotAtVersion(db, version, options.batchSize ?? 50, after);
    if (tenantIds.length === 0) break;
    for (const tenantId of tenantIds) await rotateWebhook(tenantId);
    after = tenantIds[tenantIds.length - 1];
  }
  return report;

  async function rotateWebhook(tenantId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await getAlertWebhookRow(db, tenantId);
      if (!row || row.keyVersion === version) {
        report.skipped++;
        return;
      }
      let sealed: SealedWebhookSecret;
      try {
        sealed = resealWebhookSecret(keyring, tenantId, row.ciphertext);
      } catch (error) {
        report.failed.push({ tenantId, code: error instanceof VaultError ? error.code : 'unknown' });
        return;
      }
      if (await replaceAlertWebhookCiphertext(db, tenantId, row.ciphertext, sealed)) {
        report.rotated++;
        return;
      }
    }
    report.skipped++;
  }
}

/**
 * Marks a key version retired once no ciphertext uses it; after that it may leave the keyring.
 * Refuses (`key_version_in_use`) while any credential or alert-webhook secret still needs it.
 */
export async function retireKeyVersion(db: Kysely<Schema>, version: number): Promise<void> {
  const inUse = await countCredentialsAtVersion(db, version);
  const webhooks = await countAlertWebhooksAtVersion(db, version);
  if (inUse > 0 || webhooks > 0) {
    const what = [
      ...(inUse > 0 ? [`${inUse} credential(s)`] : []),
      ...(webhooks > 0 ? [`${webhooks} alert webhook secret(s)`] : []),
    ].join(' and ');
    throw new VaultError(
      'key_version_in_use',
      `Master key version ${version} still encrypts ${what}: run the rotation first`,
    );
  }
  if (!(await listVaultKeys(db)).some((k) => k.version === version)) {
    throw new VaultError(
      'key_version_unknown',
      `Master key version ${version} is not known to this database`,
    );
  }
  await markVaultKeyRetired(db, version);
}
