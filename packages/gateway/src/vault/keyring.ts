import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VaultError } from './vault-error.js';

export const MASTER_KEY_BYTES = 32;

/**
 * The master keys, by version. The newest version encrypts; every version decrypts. The key
 * bytes live in a module-private WeakMap as `KeyObject`s, not on the keyring, so printing,
 * serialising or cloning a keyring shows only its versions.
 */
export interface Keyring {
  /** All versions, newest first. */
  readonly versions: readonly number[];
  /** The version new ciphertexts use. */
  readonly current: number;
  has(version: number): boolean;
}

const keys = new WeakMap<Keyring, ReadonlyMap<number, KeyObject>>();

/** The key of a version, for the vault's own use. Throws `key_version_unknown` when absent. */
export function masterKey(keyring: Keyring, version: number): KeyObject {
  const key = keys.get(keyring)?.get(version);
  if (!key) {
    throw new VaultError('key_version_unknown', `Master key version ${version} is not in the keyring`);
  }
  return key;
}

/** Builds a keyring from raw keys (32 bytes each). */
export function createKeyring(entries: ReadonlyArray<{ version: number; key: Uint8Array }>): Keyring {
  if (entries.length === 0) throw new VaultError('master_key_missing', 'The keyring holds no master key');
  const map = new Map<number, KeyObject>();
  for (const { version, key } of entries) {
    if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
      throw new VaultError('master_key_invalid', 'A master key version must be a whole number from 1');
    }
    if (map.has(version))
      throw new VaultError('master_key_invalid', `Master key version ${version} is given twice`);
    if (key.length !== MASTER_KEY_BYTES) {
      throw new VaultError(
        'master_key_invalid',
        `Master key version ${version} is not ${MASTER_KEY_BYTES} bytes`,
      );
    }
    map.set(version, createSecretKey(key));
  }
  const versions = [...map.keys()].sort((a, b) => b - a);
  const keyring: Keyring = Object.freeze({
    versions: Object.freeze(versions),
    current: versions[0]!,
    has: (version: number) => map.has(version),
  });
  keys.set(keyring, map);
  return keyring;
}

/**
 * Parses `version:base64key` entries separated by commas or line breaks, e.g.
 * `KEYHOLD_MASTER_KEYS="2:base64…,1:base64…"`. Errors name the version or the entry's position,
 * never its text.
 */
export function parseKeyring(text: string): Keyring {
  // Comment lines go first: a comma inside one must not turn its tail into an "entry".
  const entries = text
    .split(/[\n\r]+/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new VaultError('master_key_missing', 'The master key setting is empty');
  return createKeyring(
    entries.map((entry, index) => {
      const match = /^(\d+):([A-Za-z0-9+/]+={0,2})$/.exec(entry);
      if (!match) {
        throw new VaultError(
          'master_key_invalid',
          `Master key entry ${index + 1} is not in the form <version>:<base64 key>`,
        );
      }
      const version = Number(match[1]);
      const key = Buffer.from(match[2]!, 'base64');
      if (key.length !== MASTER_KEY_BYTES) {
        throw new VaultError(
          'master_key_invalid',
          `Master key version ${version} is not ${MASTER_KEY_BYTES} bytes of base64`,
        );
      }
      return { version, key };
    }),
  );
}

/**
 * The keyring from the environment: `KEYHOLD_MASTER_KEYS`, or the file named by
 * `KEYHOLD_MASTER_KEYS_FILE` (same format, one entry per line allowed). There is no default:
 * without a key the gateway does not start.
 */
export function loadKeyring(env: Readonly<Record<string, string | undefined>> = process.env): Keyring {
  const inline = env.KEYHOLD_MASTER_KEYS;
  const file = env.KEYHOLD_MASTER_KEYS_FILE;
  if (inline && file) {
    throw new VaultError(
      'master_key_invalid',
      'Set KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE, not both',
    );
  }
  if (inline) return parseKeyring(inline);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new VaultError('master_key_missing', 'The file named by KEYHOLD_MASTER_KEYS_FILE cannot be read');
    }
    return parseKeyring(text);
  }
  throw new VaultError(
    'master_key_missing',
    'No master key: set KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE (create one with `keyhold keys generate`)',
  );
}

/** A fresh master key, as the keyring entry the operator adds (`keyhold keys generate`). */
export interface GeneratedMasterKey {
  version: number;
  /** The `version:base64` entry to put into the keyring. Shown once; Keyhold does not keep it. */
  entry: string;
}

/**
 * Generates a random 256-bit master key. `version` defaults to one above the keyring's newest
 * (or 1 without a keyring).
 *
 * @example
 * const { entry } = generateMasterKey({ after: loadKeyring() });
 * // KEYHOLD_MASTER_KEYS="<entry>,<the existing entries>"
 */
export function generateMasterKey(options: { version?: number; after?: Keyring } = {}): GeneratedMasterKey {
  const version = options.version ?? (options.after ? options.after.current + 1 : 1);
  if (!Number.isInteger(version) || version < 1) {
    throw new VaultError('master_key_invalid', 'A master key version must be a whole number from 1');
  }
  return { version, entry: `${version}:${randomBytes(MASTER_KEY_BYTES).toString('base64')}` };
}
