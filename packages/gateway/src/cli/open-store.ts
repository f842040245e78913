import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDatabase, type Database } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { listVaultKeys } from '../store/vault-keys.js';
import { checkKeyring } from '../vault/key-check.js';
import { type Keyring, loadKeyring } from '../vault/keyring.js';
import { createVault, type Vault } from '../vault/vault.js';
import { VaultError } from '../vault/vault-error.js';
import { CliError } from './cli-io.js';
import { lockDataDir } from './data-dir-lock.js';
import { generateMasterKeyFile, type KeyringSource, readMasterKeyFile } from './master-key-file.js';

/** The embedded store's default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = './.keyhold/data';

export interface OpenStoreOptions {
  /** `--data-dir`; else `KEYHOLD_DATA_DIR`; else `./.keyhold/data`. Ignored with `DATABASE_URL`. */
  dataDir?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** A first run of the embedded store may generate its master key (`serve` only). */
  mayGenerateKey?: boolean;
  /** Run pending migrations (default true). */
  migrate?: boolean;
  /** Skip the master key (`migrate` needs none). */
  withoutKeyring?: boolean;
}

export interface OpenedStore {
  database: Database;
  /** Absent with `withoutKeyring`. */
  vault?: Vault;
  keyringSource?: KeyringSource;
  /** Where the embedded store lives (absent on PostgreSQL). */
  dataDir?: string;
  /** Migrations this start applied (names). */
  applied: string[];
  /** Which store this is, for messages: never the database URL. */
  where: string;
  close(): Promise<void>;
}

/**
 * Opens the store the CLI works on: PostgreSQL when `DATABASE_URL` is set, else PGlite in the
 * data directory (locked to this process). Migrations run; the keyring is loaded — from the
 * environment, else the data directory's `master-keys` file, else (a first run of the embedded
 * store, when allowed) a freshly generated one — and checked against the database's check values.
 */
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  const { env } = options;
  const url = env.DATABASE_URL;
  let dataDir: string | undefined;
  let unlock: (() => void) | undefined;
  let keyringSource: KeyringSource | undefined;
  let keyring: Keyring | undefined;

  if (url) {
    if (!options.withoutKeyring) ({ keyring, source: keyringSource } = keyringFromEnv(env, undefined, false));
  } else {
    dataDir = resolve(options.dataDir ?? env.KEYHOLD_DATA_DIR ?? DEFAULT_DATA_DIR);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(dataDir);
  }

  let database: Database;
  try {
    database = await createDatabase({
      ...(url ? { url } : { dataDir: join(dataDir!, 'pglite') }),
      migrate: false,
    });
  } catch (error) {
    unlock?.();
    throw new CliError(
      `Cannot open the ${url ? 'PostgreSQL database (DATABASE_URL)' : `embedded store in ${dataDir}`}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  const close = async () => {
    await database.close();
    unlock?.();
  };
  let applied: string[] = [];
  try {
    if (options.migrate ?? true) ({ applied } = await migrateToLatest(database.db));
  } catch (error) {
    await close();
    throw new CliError(`The database migration failed: ${describe(error)}`, { cause: error });
  }
  try {
    if (dataDir !== undefined && !options.withoutKeyring) {
      // A key may be generated only for a store that never recorded one (no check value yet).
      const fresh = (await listVaultKeys(database.db)).length === 0;
      ({ keyring, source: keyringSource } = keyringFromEnv(
        env,
        dataDir,
        (options.mayGenerateKey ?? false) && fresh,
      ));
    }
    if (keyring) await checkKeyring(database.db, keyring);
  } catch (error) {
    await close();
    if (error instanceof VaultError) {
      throw new CliError(`${error.message}. ${where(keyringSource)}`, { cause: error });
    }
    throw error;
  }
  return {
    database,
    ...(keyring ? { vault: createVault({ keyring }) } : {}),
    ...(keyringSource ? { keyringSource } : {}),
    ...(dataDir ? { dataDir } : {}),
    applied,
    where: url ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${dataDir}`,
    close,
  };
}

function keyringFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string | undefined,
  mayGenerate: boolean,
): { keyring: Keyring; source: KeyringSource } {
  const wrap = (error: unknown): never => {
    if (error instanceof VaultError) throw new CliError(error.message, { cause: error });
    throw error;
  };
  if (env.KEYHOLD_MASTER_KEYS || env.KEYHOLD_MASTER_KEYS_FILE) {
    try {
      const name = env.KEYHOLD_MASTER_KEYS ? 'KEYHOLD_MASTER_KEYS' : 'KEYHOLD_MASTER_KEYS_FILE';
      return { keyring: loadKeyring(env), source: { kind: 'env', name } };
    } catch (error) {
      return wrap(error);
    }
  }
  if (dataDir === undefined) {
    throw new CliError(
      'No master key: with DATABASE_URL, set KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE (create one with `keyhold keys generate`)',
    );
  }
  let existing: ReturnType<typeof readMasterKeyFile>;
  try {
    existing = readMasterKeyFile(dataDir);
  } catch (error) {
    return wrap(error);
  }
  if (existing)
    return { keyring: existing.keyring, source: { kind: 'data-dir', path: existing.path, generated: false } };
  if (!mayGenerate) {
    throw new CliError(
      `No master key: set KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE, or keep the embedded store's key in ${join(dataDir, 'master-keys')} (the first \`keyhold serve\` on an empty store creates it)`,
    );
  }
  const generated = generateMasterKeyFile(dataDir);
  return { keyring: generated.keyring, source: { kind: 'data-dir', path: generated.path, generated: true } };
}

function where(source: KeyringSource | undefined): string {
  if (!source) return '';
  return source.kind === 'env' ? `Check ${source.name}.` : `Check the master key file ${source.path}.`;
}

/** An error's message, without anything that could be a URL with a password in it. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unknown error';
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s]*/gi, '<url>');
}
