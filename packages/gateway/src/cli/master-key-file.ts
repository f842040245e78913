import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateMasterKey, type Keyring, parseKeyring } from '../vault/keyring.js';
import { VaultError } from '../vault/vault-error.js';

/** The file a first run of the embedded store keeps its generated master key in. */
export const MASTER_KEY_FILE = 'master-keys';

// No commas in these lines: the keyring format splits entries at commas as well as line breaks.
const HEADER = [
  '# Keyhold master keys generated on the first run of the embedded store.',
  '# One <version>:<base64 key> per line. Keep every version until `keyhold keys rotate`',
  '# and `keyhold keys retire` say it is unused. In production provide KEYHOLD_MASTER_KEYS or',
  '# KEYHOLD_MASTER_KEYS_FILE from a secret manager instead of this file.',
];

export type KeyringSource =
  | { kind: 'env'; name: 'KEYHOLD_MASTER_KEYS' | 'KEYHOLD_MASTER_KEYS_FILE' }
  | { kind: 'data-dir'; path: string; generated: boolean };

/** The master key file inside a data directory, if there is one. */
export function readMasterKeyFile(dataDir: string): { keyring: Keyring; path: string } | undefined {
  const path = join(dataDir, MASTER_KEY_FILE);
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new VaultError('master_key_missing', `The master key file ${path} cannot be read`);
  }
  return { keyring: parseKeyring(text), path };
}

/**
 * Generates a master key into `<dataDir>/master-keys`, readable by the owner only (0600). The
 * exclusive flag makes a second concurrent first run fail instead of overwriting the key the
 * first one is already using.
 */
export function generateMasterKeyFile(dataDir: string): { keyring: Keyring; path: string } {
  const path = join(dataDir, MASTER_KEY_FILE);
  const { entry } = generateMasterKey();
  writeFileSync(path, `${[...HEADER, entry].join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  return { keyring: parseKeyring(entry), path };
}
