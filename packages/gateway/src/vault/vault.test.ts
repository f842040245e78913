import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '@keyhold/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../core/test/support/leaks.js';
import type { CredentialBinding } from './associated-data.js';
import { decodeBlob, FORMAT_VERSION, HEADER_LENGTH, IV_LENGTH, TAG_LENGTH } from './ciphertext-format.js';
import { createKeyring, generateMasterKey, loadKeyring, parseKeyring } from './keyring.js';
import { createVault, type SealedCredential } from './vault.js';
import { VaultError } from './vault-error.js';

const rawKey = () => randomBytes(32);
const binding = (over: Partial<CredentialBinding> = {}): CredentialBinding => ({
  tenantId: randomUUID(),
  ownerKind: 'tenant',
  ownerId: randomUUID(),
  credentialId: randomUUID(),
  provider: 'openai',
  ...over,
});
const rowOf = (
  b: CredentialBinding,
  ciphertext: Uint8Array,
  fields: Record<string, string> = {},
): SealedCredential => ({
  id: b.credentialId,
  tenantId: b.tenantId,
  ownerKind: b.ownerKind,
  ownerId: b.ownerId,
  provider: b.provider,
  ciphertext,
  fields,
});

function expectVaultError(fn: () => unknown, code: string): VaultError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).code).toBe(code);
    return error as VaultError;
  }
  throw new Error('expected a VaultError');
}

describe('vault', () => {
  const keyring = createKeyring([{ version: 3, key: rawKey() }]);
  const vault = createVault({ keyring });

  it('writes the documented blob layout and opens it into a Credential of Secrets', () => {
    const apiKey = canaryKey('sk-proj');
    const b = binding();
    const sealed = vault.seal(b, { apiKey });
    expect(sealed.keyVersion).toBe(3);
    expect(sealed.hint).toBe(`…${apiKey.slice(-4)}`);
    const blob = Buffer.from(sealed.ciphertext);
    expect(blob[0]).toBe(FORMAT_VERSION);
    expect(blob.readUInt32BE(1)).toBe(3);
    const plaintextLength = JSON.stringify({ apiKey }).length;
    expect(blob.length).toBe(HEADER_LENGTH + IV_LENGTH + plaintextLength + TAG_LENGTH);
    expect(decodeBlob(blob).keyVersion).toBe(3);

    const credential = vault.open(rowOf(b, blob, { baseURL: 'https://proxy.example/v1' }));
    expect(credential.provider).toBe('openai');
    expect(credential.secrets.apiKey).toBeInstanceOf(Secret);
    expect(credential.secrets.apiKey?.reveal()).toBe(apiKey);
    expect(credential.fields).toEqual({ baseURL: 'https://proxy.example/v1' });
    expectNoKeyIn(allRenderings(credential), apiKey);
    expectNoKeyIn(allRenderings(sealed), apiKey);
  });

  it('keeps Bedrock’s several secret fields and hints the access key id', () => {
    const secrets = {
      accessKeyId: `AKIA${canaryKey('x').slice(-16)}`,
      secretAccessKey: canaryKey('aws'),
      sessionToken: canaryKey('tok'),
    };
    const b = binding({ provider: 'bedrock' });
    const sealed = vault.seal(b, { ...secrets, secretAccessKey: Secret.from(secrets.secretAccessKey) });
    expect(sealed.hint).toBe(`…${secrets.accessKeyId.slice(-4)}`);
    const credential = vault.open(rowOf(b, sealed.ciphertext, { region: 'eu-west-1' }));
    expect(Object.keys(credential.secrets).sort()).toEqual([
      'accessKeyId',
      'secretAccessKey',
      'sessionToken',
    ]);
    expect(credential.secrets.secretAccessKey?.reveal()).toBe(secrets.secretAccessKey);
    expect(credential.fields).toEqual({ region: 'eu-west-1' });
  });

  it('uses a fresh IV every time', () => {
    const b = binding();
    const one = decodeBlob(vault.seal(b, { apiKey: canaryKey() }).ciphertext);
    const two = decodeBlob(vault.seal(b, { apiKey: canaryKey() }).ciphertext);
    expect(one.iv.equals(two.iv)).toBe(false);
  });

  it.each([
    ['tenant', { tenantId: randomUUID() }],
    ['owner kind', { ownerKind: 'user' as const }],
    ['owner', { ownerId: randomUUID() }],
    ['credential id', { credentialId: randomUUID() }],
    ['provider', { provider: 'mistral' }],
  ])('refuses a ciphertext copied to a row with another %s', (_, change) => {
    const b = binding();
    const sealed = vault.seal(b, { apiKey: canaryKey() });
    expect(() => vault.open(rowOf(b, sealed.ciphertext))).not.toThrow();
    expectVaultError(() => vault.open(rowOf({ ...b, ...change }, sealed.ciphertext)), 'decrypt_failed');
  });

  it('fails on a flipped bit in every byte of the blob', () => {
    const apiKey = canaryKey();
    const b = binding();
    const blob = Buffer.from(vault.seal(b, { apiKey }).ciphertext);
    for (let i = 0; i < blob.length; i++) {
      const altered = Buffer.from(blob);
      altered[i] = altered[i]! ^ 0x01;
      let error: unknown;
      try {
        vault.open(rowOf(b, altered));
      } catch (e) {
        error = e;
      }
      expect(error, `byte ${i}`).toBeInstanceOf(VaultError);
      expectNoKeyIn(allRenderings(error), apiKey);
    }
    expectVaultError(() => vault.open(rowOf(b, blob.subarray(0, 20))), 'ciphertext_malformed');
  });

  it('a row opened before (its split blob and associated data remembered) still fails once altered', () => {
    const apiKey = canaryKey();
    const b = binding();
    const blob = Buffer.from(vault.seal(b, { apiKey }).ciphertext);
    for (const i of [0, 1, HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH, blob.length - 1]) {
      const row = rowOf(b, Buffer.from(blob));
      expect(vault.open(row).secrets.apiKey?.reveal()).toBe(apiKey);
      // In place, on the very object opened before.
      row.ciphertext[i] = row.ciphertext[i]! ^ 0x01;
      expect(() => vault.open(row), `byte ${i}`).toThrow(VaultError);
    }
    // The same row object given another binding, or another blob object: checked again.
    const row = rowOf(b, blob);
    expect(() => vault.open(row)).not.toThrow();
    const moved = row as { -readonly [K in keyof SealedCredential]: SealedCredential[K] };
    moved.id = randomUUID();
    expectVaultError(() => vault.open(moved), 'decrypt_failed');
    moved.id = b.credentialId;
    expect(() => vault.open(moved)).not.toThrow();
    moved.ciphertext = vault.seal(binding(), { apiKey }).ciphertext;
    expectVaultError(() => vault.open(moved), 'decrypt_failed');
  });

  it('fails under the wrong key with a message naming the version only', () => {
    const b = binding();
    const sealed = vault.seal(b, { apiKey: canaryKey() });
    const other = createVault({ keyring: createKeyring([{ version: 3, key: rawKey() }]) });
    const error = expectVaultError(() => other.open(rowOf(b, sealed.ciphertext)), 'decrypt_failed');
    expect(error.message).toContain('version 3');
    const without = createVault({ keyring: createKeyring([{ version: 4, key: rawKey() }]) });
    expectVaultError(() => without.open(rowOf(b, sealed.ciphertext)), 'key_version_unknown');
  });

  it('renders no master key and no plaintext in the vault, the keyring or their errors', () => {
    const key = rawKey();
    const ring = createKeyring([{ version: 1, key }]);
    const v = createVault({ keyring: ring });
    for (const rendering of [allRenderings(ring), allRenderings(v)]) {
      expectNoKeyIn(rendering, key.toString('base64'), key.toString('hex'), key.toString('latin1'));
    }
    expect(ring.versions).toEqual([1]);
  });
});

describe('keyring', () => {
  it('parses versions, orders them newest first and encrypts with the newest', () => {
    const one = generateMasterKey({ version: 1 });
    const two = generateMasterKey({ version: 2 });
    const ring = parseKeyring(`${one.entry},\n${two.entry}`);
    expect(ring.versions).toEqual([2, 1]);
    expect(ring.current).toBe(2);
    expect(generateMasterKey({ after: ring }).version).toBe(3);
    expect(createVault({ keyring: ring }).seal(binding(), { apiKey: 'k'.repeat(20) }).keyVersion).toBe(2);
  });

  it('reads the environment or a file, and refuses to start without a key', () => {
    const { entry } = generateMasterKey();
    expect(loadKeyring({ KEYHOLD_MASTER_KEYS: entry }).current).toBe(1);
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-keys-'));
    // A file of master keys, throwaway as they are, does not outlive the test.
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'master-keys');
    writeFileSync(file, `# rotated 2025-01\n${generateMasterKey({ version: 7 }).entry}\n${entry}\n`);
    expect(loadKeyring({ KEYHOLD_MASTER_KEYS_FILE: file }).versions).toEqual([7, 1]);
    expect(expectVaultError(() => loadKeyring({}), 'master_key_missing').message).toMatch(
      /KEYHOLD_MASTER_KEYS/,
    );
    expectVaultError(
      () => loadKeyring({ KEYHOLD_MASTER_KEYS_FILE: join(dir, 'absent') }),
      'master_key_missing',
    );
    expectVaultError(
      () => loadKeyring({ KEYHOLD_MASTER_KEYS: entry, KEYHOLD_MASTER_KEYS_FILE: file }),
      'master_key_invalid',
    );
  });

  it('names the bad entry without repeating its text', () => {
    const shortKey = Buffer.from('0123456789abcdef').toString('base64');
    const error = expectVaultError(() => parseKeyring(`2:${shortKey}`), 'master_key_invalid');
    expect(error.message).toContain('version 2');
    expect(error.message).not.toContain(shortKey.slice(0, 8));
    const garbage = 'not-a-key-at-all-but-secretish';
    const second = expectVaultError(
      () => parseKeyring(`${generateMasterKey().entry},${garbage}`),
      'master_key_invalid',
    );
    expect(second.message).toContain('entry 2');
    expectNoKeyIn(allRenderings(second), garbage);
    const { entry } = generateMasterKey({ version: 5 });
    expectVaultError(() => parseKeyring(`${entry},${entry}`), 'master_key_invalid');
    expectVaultError(() => createKeyring([]), 'master_key_missing');
  });
});
