import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type Credential, getProviderInfo, hintOf, Secret, toCredential } from '@keyhold/core';
import type { SealedSecret } from '../store/credentials.js';
import { type CredentialBinding, credentialAssociatedData } from './associated-data.js';
import { decodeBlob, encodeBlob, encodeHeader, HEADER_LENGTH, IV_LENGTH } from './ciphertext-format.js';
import { type Keyring, masterKey } from './keyring.js';
import { VaultError } from './vault-error.js';

/** Secret fields of one credential, e.g. `{ apiKey }` or `{ accessKeyId, secretAccessKey }`. */
export type SecretFields = Readonly<Record<string, string | Secret>>;

/** A stored credential as the vault needs it to open the ciphertext. */
export interface SealedCredential {
  id: string;
  tenantId: string | null;
  ownerKind: CredentialBinding['ownerKind'];
  ownerId: string;
  provider: string;
  ciphertext: Uint8Array;
  fields: Readonly<Record<string, string>>;
}

export interface Vault {
  readonly keyring: Keyring;
  /** Encrypts secret fields for one row under the newest key; returns the blob, version and hint. */
  seal(binding: CredentialBinding, secrets: SecretFields): SealedSecret;
  /** Decrypts a stored credential into a core `Credential` whose secret fields are `Secret`s. */
  open(row: SealedCredential): Credential;
  /** Re-encrypts a row's blob under the newest key without ever parsing the plaintext. */
  reseal(row: SealedCredential): SealedSecret;
}

/**
 * The credential vault: AES-256-GCM with a versioned blob (see ciphertext-format.ts) and
 * associated data naming the row (see associated-data.ts). Plaintext exists only inside
 * `seal` / `open` / `reseal`; what leaves is a blob, a hint or `Secret`s. Nothing is cached.
 *
 * @example
 * const vault = createVault({ keyring: loadKeyring() });
 * const credential = vault.open(row); // credential.secrets.apiKey is a Secret
 */
export function createVault({ keyring }: { keyring: Keyring }): Vault {
  const encrypt = (binding: CredentialBinding, plaintext: Buffer): Buffer => {
    const version = keyring.current;
    const header = encodeHeader(version);
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', masterKey(keyring, version), iv);
    cipher.setAAD(Buffer.concat([header, credentialAssociatedData(binding)]));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return encodeBlob({ keyVersion: version, iv, ciphertext, tag: cipher.getAuthTag() });
  };

  // What opening a row needs besides the key — the blob split into header, IV, ciphertext and
  // tag, and the associated data (header + binding) — is rebuilt only when the row object, its
  // blob object, a bound field or the header bytes change: none of it is secret, and building
  // it (JSON, UTF-8, views) costs close to half as much as the decryption itself. The views
  // share the blob's memory, so a byte changed in place still fails authentication, and a blob
  // put into another row never meets the old row's binding.
  const prepared = new WeakMap<SealedCredential, Prepared>();
  const prepare = (row: SealedCredential): Prepared => {
    const hit = prepared.get(row);
    if (
      hit !== undefined &&
      hit.blob === row.ciphertext &&
      hit.id === row.id &&
      hit.tenantId === row.tenantId &&
      hit.ownerKind === row.ownerKind &&
      hit.ownerId === row.ownerId &&
      hit.provider === row.provider &&
      sameHeader(hit.aad, row.ciphertext)
    ) {
      return hit;
    }
    const parts = decodeBlob(row.ciphertext);
    const fresh: Prepared = {
      blob: row.ciphertext,
      id: row.id,
      tenantId: row.tenantId,
      ownerKind: row.ownerKind,
      ownerId: row.ownerId,
      provider: row.provider,
      keyVersion: parts.keyVersion,
      iv: parts.iv,
      ciphertext: parts.ciphertext,
      tag: parts.tag,
      aad: Buffer.concat([parts.header, credentialAssociatedData(bindingOf(row))]),
    };
    prepared.set(row, fresh);
    return fresh;
  };

  const decrypt = (row: SealedCredential): Buffer => {
    const parts = prepare(row);
    const key = masterKey(keyring, parts.keyVersion);
    let plaintext: Buffer | undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
      decipher.setAAD(parts.aad);
      decipher.setAuthTag(parts.tag);
      // GCM is a stream mode: update() returns every plaintext byte and final() only checks the
      // tag (it returns nothing), so no concatenation; nothing is used unless final() passed.
      plaintext = decipher.update(parts.ciphertext);
      decipher.final();
      return plaintext;
    } catch {
      plaintext?.fill(0);
      throw new VaultError(
        'decrypt_failed',
        `Credential ${row.id} does not decrypt: its ciphertext was altered, belongs to another row, or the master key version ${parts.keyVersion} is wrong`,
      );
    }
  };

  return Object.freeze({
    keyring,
    seal(binding: CredentialBinding, secrets: SecretFields): SealedSecret {
      const revealed: Record<string, string> = {};
      for (const [name, value] of Object.entries(secrets)) {
        const text = value instanceof Secret ? value.reveal() : value;
        if (typeof text === 'string' && text !== '') revealed[name] = text;
      }
      const main = mainSecretName(binding.provider, Object.keys(revealed));
      if (main === undefined) throw new TypeError('A credential needs at least one secret field');
      const plaintext = Buffer.from(JSON.stringify(revealed), 'utf8');
      try {
        return {
          ciphertext: encrypt(binding, plaintext),
          keyVersion: keyring.current,
          hint: hintOf(revealed[main]!),
        };
      } finally {
        plaintext.fill(0);
      }
    },
    open(row: SealedCredential): Credential {
      const plaintext = decrypt(row);
      try {
        const secrets = JSON.parse(plaintext.toString('utf8')) as Record<string, string>;
        const material: Record<string, string | Secret> = {};
        for (const name in secrets) material[name] = Secret.from(secrets[name]!);
        for (const name in row.fields) material[name] = row.fields[name]!;
        return toCredential(row.provider, material);
      } finally {
        plaintext.fill(0);
      }
    },
    reseal(row: SealedCredential): SealedSecret {
      const plaintext = decrypt(row);
      try {
        const secrets = JSON.parse(plaintext.toString('utf8')) as Record<string, string>;
        const main = mainSecretName(row.provider, Object.keys(secrets));
        const hint = main === undefined ? '…' : hintOf(secrets[main]!);
        return { ciphertext: encrypt(bindingOf(row), plaintext), keyVersion: keyring.current, hint };
      } finally {
        plaintext.fill(0);
      }
    },
  });
}

/** A row's blob, split, with its associated data and what it was computed from. */
interface Prepared {
  blob: Uint8Array;
  id: string;
  tenantId: string | null;
  ownerKind: SealedCredential['ownerKind'];
  ownerId: string;
  provider: string;
  keyVersion: number;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  /** Blob header followed by the binding's associated data. */
  aad: Buffer;
}

/** Whether the blob still starts with the header the associated data was built from. */
function sameHeader(aad: Buffer, blob: Uint8Array): boolean {
  if (blob.length < HEADER_LENGTH) return false;
  for (let i = 0; i < HEADER_LENGTH; i++) if (aad[i] !== blob[i]) return false;
  return true;
}

function bindingOf(row: SealedCredential): CredentialBinding {
  return {
    tenantId: row.tenantId,
    ownerKind: row.ownerKind,
    ownerId: row.ownerId,
    credentialId: row.id,
    provider: row.provider,
  };
}

/** The field the hint is taken from: the provider's first secret field present (`apiKey` mostly). */
function mainSecretName(provider: string, present: readonly string[]): string | undefined {
  const order = (getProviderInfo(provider)?.credentialFields ?? [])
    .filter((f) => f.secret)
    .map((f) => f.name);
  return order.find((name) => present.includes(name)) ?? present[0];
}
