import { parseArgs } from 'node:util';
import { generateMasterKey, type Keyring, loadKeyring } from '../vault/keyring.js';
import { retireKeyVersion, rotateAlertWebhooks, rotateCredentials } from '../vault/rotation.js';
import { type CliIo, type ExitCode, UsageError } from './cli-io.js';
import { readMasterKeyFile } from './master-key-file.js';
import { DEFAULT_DATA_DIR, openStore } from './open-store.js';

/**
 * `keyhold keys generate [--version N]`: prints a new keyring entry `<version>:<base64 key>` on
 * stdout (alone, so it can be appended to a file) and what to do with it on stderr. The version
 * is one above the configured keyring's newest, when there is one.
 */
export async function keysGenerate(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: { version: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  let version: number | undefined;
  if (values.version !== undefined) {
    version = Number(values.version);
    if (!Number.isInteger(version) || version < 1)
      throw new UsageError('--version must be a whole number from 1');
  }
  const current = currentKeyring(io.env, values['data-dir']);
  const { entry, version: made } = generateMasterKey({
    ...(version !== undefined ? { version } : {}),
    ...(current ? { after: current } : {}),
  });
  io.out(entry);
  io.err(
    [
      `Master key version ${made} generated (shown once; Keyhold does not keep it).`,
      'To rotate: add it to KEYHOLD_MASTER_KEYS (comma-separated) or as a line of KEYHOLD_MASTER_KEYS_FILE,',
      'keeping the older entries; restart every instance; then run `keyhold keys rotate`, and once it',
      'reports nothing left on the old version, `keyhold keys retire <old version>`.',
    ].join('\n'),
  );
  return 0;
}

/** The keyring the environment or the data directory gives, if any (for the next version number). */
function currentKeyring(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string | undefined,
): Keyring | undefined {
  if (env.KEYHOLD_MASTER_KEYS || env.KEYHOLD_MASTER_KEYS_FILE) return loadKeyring(env);
  if (env.DATABASE_URL) return undefined;
  return readMasterKeyFile(dataDir ?? env.KEYHOLD_DATA_DIR ?? DEFAULT_DATA_DIR)?.keyring;
}

/**
 * `keyhold keys rotate`: re-encrypts every credential and alert-webhook secret to the keyring's
 * newest version while the gateway serves (see vault/rotation.ts for the rules). Exit 1 when one
 * failed.
 */
export async function keysRotate(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'batch-size': { type: 'string' } },
  });
  const batchSize = values['batch-size'] === undefined ? 50 : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError('--batch-size must be a whole number from 1');
  const store = await openStore({
    env: io.env,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  try {
    const report = await rotateCredentials(store.database.db, store.vault!, {
      batchSize,
      onBatch: (done) => io.err(`  … ${done} credential(s) processed`),
    });
    io.out(
      `Re-encrypted ${report.rotated} credential(s) to master key version ${report.version}; ` +
        `${report.skipped} already changed meanwhile; ${report.failed.length} failed.`,
    );
    for (const failure of report.failed) io.err(`  credential ${failure.credentialId}: ${failure.code}`);
    const webhooks = await rotateAlertWebhooks(store.database.db, store.vault!, { batchSize });
    io.out(
      `Re-encrypted ${webhooks.rotated} alert webhook secret(s) to master key version ${webhooks.version}; ` +
        `${webhooks.skipped} already changed meanwhile; ${webhooks.failed.length} failed.`,
    );
    for (const failure of webhooks.failed)
      io.err(`  alert webhook of tenant ${failure.tenantId}: ${failure.code}`);
    return report.failed.length + webhooks.failed.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** `keyhold keys retire <version>`: marks a version retired once nothing is sealed with it. */
export async function keysRetire(args: string[], io: CliIo): Promise<ExitCode> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('keys retire takes one master key version');
  const version = Number(positionals[0]);
  if (!Number.isInteger(version) || version < 1)
    throw new UsageError('The version must be a whole number from 1');
  const store = await openStore({
    env: io.env,
    withoutKeyring: true,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  try {
    await retireKeyVersion(store.database.db, version);
    io.out(`Master key version ${version} is retired: remove it from every instance's keyring.`);
    return 0;
  } finally {
    await store.close();
  }
}
