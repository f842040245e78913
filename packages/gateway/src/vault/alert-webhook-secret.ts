import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { hintOf, Secret } from '@keyhold/core';
import { alertWebhookAssociatedData } from './associated-data.js';
import { decodeBlob, encodeBlob, encodeHeader, IV_LENGTH } from './ciphertext-format.js';
import { type Keyring, masterKey } from './keyring.js';
import { VaultError } from './vault-error.js';

/** A sealed webhook signing secret, as stored in `alert_webhooks`. */
export interface SealedWebhookSecret {
  ciphertext: Uint8Array;
  keyVersion: number;
  hint: string;
}

/** Prefix of generated signing secrets, so one is recognisable in a receiver's configuration. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/**
 * A fresh signing secret: `whsec_` and 32 random bytes in base64url (256 bits, as strong as the
 * HMAC-SHA256 key it becomes).
 */
export function generateWebhookSecret(): Secret {
  return Secret.from(`${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`);
}

/*
 * The same blob format and master keys as credentials (ciphertext-format.ts), with the plaintext
 * being the secret's UTF-8 bytes and the associated data `alertWebhookAssociatedData(tenantId)`
 * after the header. Rotation (`rotateAlertWebhooks`) and retirement follow the rules written in
 * rotation.ts.
 */

/** Encrypts a tenant's webhook secret under the keyring's newest version. */
export function sealWebhookSecret(keyring: Keyring, tenantId: string, secret: Secret): SealedWebhookSecret {
  const plaintext = Buffer.from(secret.reveal(), 'utf8');
  try {
    return {
      ciphertext: encrypt(keyring, tenantId, plaintext),
      keyVersion: keyring.current,
      hint: secret.hint,
    };
  } finally {
    plaintext.fill(0);
  }
}

/** Decrypts a tenant's webhook secret; `decrypt_failed` when the blob is not this tenant's. */
export function openWebhookSecret(keyring: Keyring, tenantId: string, ciphertext: Uint8Array): Secret {
  const plaintext = decrypt(keyring, tenantId, ciphertext);
  try {
    return Secret.from(plaintext.toString('utf8'));
  } finally {
    plaintext.fill(0);
  }
}

/** Re-encrypts under the newest version without handing the plaintext out. */
export function resealWebhookSecret(
  keyring: Keyring,
  tenantId: string,
  ciphertext: Uint8Array,
): SealedWebhookSecret {
  const plaintext = decrypt(keyring, tenantId, ciphertext);
  try {
    return {
      ciphertext: encrypt(keyring, tenantId, plaintext),
      keyVersion: keyring.current,
      hint: hintOf(plaintext.toString('utf8')),
    };
  } finally {
    plaintext.fill(0);
  }
}

function encrypt(keyring: Keyring, tenantId: string, plaintext: Buffer): Buffer {
  const version = keyring.current;
  const header = encodeHeader(version);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', masterKey(keyring, version), iv);
  cipher.setAAD(Buffer.concat([header, alertWebhookAssociatedData(tenantId)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return encodeBlob({ keyVersion: version, iv, ciphertext, tag: cipher.getAuthTag() });
}

function decrypt(keyring: Keyring, tenantId: string, blob: Uint8Array): Buffer {
  const parts = decodeBlob(blob);
  const key = masterKey(keyring, parts.keyVersion);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
    decipher.setAAD(Buffer.concat([parts.header, alertWebhookAssociatedData(tenantId)]));
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch {
    throw new VaultError(
      'decrypt_failed',
      `The alert webhook secret of tenant ${tenantId} does not decrypt: its ciphertext was altered, belongs to another row, or the master key version ${parts.keyVersion} is wrong`,
    );
  }
}
