import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { alertWebhookKeyVersions } from '../store/alert-webhooks.js';
import type { Schema } from '../store/schema.js';
import { listVaultKeys, recordVaultKey } from '../store/vault-keys.js';
import { checkValueAssociatedData } from './associated-data.js';
import { decodeBlob, encodeBlob, encodeHeader, IV_LENGTH } from './ciphertext-format.js';
import { type Keyring, masterKey } from './keyring.js';
import { VaultError } from './vault-error.js';

/** The constant a check value encrypts. Public on purpose: it proves a key, it hides nothing. */
const CHECK_PLAINTEXT = Buffer.from('keyhold master key check v1', 'utf8');

/** The check value of one key version: the encryption of a known constant under that key. */
export function createCheckValue(keyring: Keyring, version: number): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const header = encodeHeader(version);
  const cipher = createCipheriv('aes-256-gcm', masterKey(keyring, version), iv);
  cipher.setAAD(Buffer.concat([header, checkValueAssociatedData(version)]));
  const ciphertext = Buffer.concat([cipher.update(CHECK_PLAINTEXT), cipher.final()]);
  return encodeBlob({ keyVersion: version, iv, ciphertext, tag: cipher.getAuthTag() });
}

/** Whether the keyring's key for `version` is the one that produced `checkValue`. */
export function matchesCheckValue(keyring: Keyring, version: number, checkValue: Uint8Array): boolean {
  try {
    const parts = decodeBlob(checkValue);
    if (parts.keyVersion !== version) return false;
    const decipher = createDecipheriv('aes-256-gcm', masterKey(keyring, version), parts.iv);
    decipher.setAAD(Buffer.concat([parts.header, checkValueAssociatedData(version)]));
    decipher.setAuthTag(parts.tag);
    const plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
    return plaintext.length === CHECK_PLAINTEXT.length && timingSafeEqual(plaintext, CHECK_PLAINTEXT);
  } catch {
    return false;
  }
}

export interface KeyringCheck {
  /** Versions seen for the first time, whose check values were just recorded. */
  recorded: number[];
}

/**
 * The start-up check: refuses a keyring that cannot serve this database.
 * - a key whose version has a stored check value must match it (a wrong key for that version);
 * - every key version a stored credential or alert-webhook secret uses must be in the keyring;
 * - the newest version must not be retired.
 * A version seen for the first time gets its check value recorded. Errors name versions only.
 */
export async function checkKeyring(db: Kysely<Schema>, keyring: Keyring): Promise<KeyringCheck> {
  const before = new Set((await listVaultKeys(db)).map((k) => k.version));
  for (const version of keyring.versions) {
    if (!before.has(version)) await recordVaultKey(db, version, createCheckValue(keyring, version));
  }
  // Read back: a concurrent instance may have recorded a version first, with another key.
  const stored = await listVaultKeys(db);
  for (const record of stored) {
    if (!keyring.has(record.version)) continue;
    if (!matchesCheckValue(keyring, record.version, record.checkValue)) {
      throw new VaultError(
        'master_key_mismatch',
        `Master key version ${record.version} is not the key this database was encrypted with (its check value does not match)`,
      );
    }
  }
  if (stored.find((k) => k.version === keyring.current)?.retiredAt) {
    throw new VaultError(
      'key_version_retired',
      `The newest master key, version ${keyring.current}, is retired: add a newer version to encrypt with`,
    );
  }
  const used = await db.selectFrom('credentials').select('keyVersion').distinct().execute();
  const versions = new Set([...used.map((r) => r.keyVersion), ...(await alertWebhookKeyVersions(db))]);
  const missing = [...versions].filter((v) => !keyring.has(v));
  if (missing.length > 0) {
    throw new VaultError(
      'key_version_unknown',
      `Stored credentials or alert webhook secrets use master key version ${missing.sort((a, b) => a - b).join(', ')}, which the keyring does not hold`,
    );
  }
  return { recorded: keyring.versions.filter((v) => !before.has(v)) };
}
