export type VaultErrorCode =
  /** No keyring configured. */
  | 'master_key_missing'
  /** A keyring entry is malformed (not a version, not 32 bytes of base64, duplicated). */
  | 'master_key_invalid'
  /** A key does not match the check value stored for its version: the wrong key. */
  | 'master_key_mismatch'
  /** A ciphertext names a key version the keyring does not hold. */
  | 'key_version_unknown'
  /** The newest key version has been retired. */
  | 'key_version_retired'
  /** A version cannot be retired while ciphertexts still use it. */
  | 'key_version_in_use'
  /** The blob is not in a format this vault reads. */
  | 'ciphertext_malformed'
  /** Authentication failed: a changed byte, another row's ciphertext, or the wrong key. */
  | 'decrypt_failed';

/**
 * The vault's own failures. Messages name key versions and credential ids, never a key, a
 * fragment of one or a plaintext.
 */
export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}
