import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createUndiciTransport } from '@keyhold/core';
import type { Logger } from 'pino';
import { createAdminApi } from '../admin/index.js';
import { createGateway, type Gateway } from '../create-gateway.js';
import { egressFetch } from '../egress/egress-fetch.js';
import { createEgressDispatcher, createSsrfPolicy, followAllowList } from '../egress/index.js';
import { createLogger } from '../http/logger.js';
import { createBudgetAlertAuditor } from '../limits/budget-alert-auditor.js';
import { createWebhookDeliverer } from '../limits/webhook-deliverer.js';
import { openUsageLedger, type UsageLedger } from '../metering/ledger/usage-ledger.js';
import { createPriceTable, type PriceOverride } from '../metering/price-table.js';
import { createConfigDirectory } from '../routing/config-directory.js';
import { type GatewayConfig, parseGatewayConfig } from '../routing/config-schema.js';
import type { DeploymentMode } from '../routing/directory.js';
import type { ModelCatalogue } from '../routing/model-catalogue.js';
import { loadModelsFile } from '../routing/models-file.js';
import { changeSourceOf } from '../store/directory-changes.js';
import { createStoreDirectory } from '../store/store-directory.js';
import { CliError } from './cli-io.js';
import { DataDirBusyError, lockDataDir } from './data-dir-lock.js';
import { masterKeyNotice, storeBanner } from './first-call-instructions.js';
import { type OpenedStore, openStore } from './open-store.js';
import { DEMO_CATALOGUE, type DemoState, seedDemo } from './seed-demo.js';

export interface ServeOptions {
  /** A configuration file: tenants, keys and credentials come from it (no store). */
  config?: string;
  port?: number;
  host?: string;
  /** The embedded store's directory (`--data-dir`); ignored with `DATABASE_URL` or `config`. */
  dataDir?: string;
  /** Seed the demo into an empty PostgreSQL database too (the embedded store always does). */
  demo?: boolean;
  /**
   * The operator's model catalogue in store mode (`--models`, else `KEYHOLD_MODELS_FILE`): a YAML
   * or JSON file with `aliases`, `list` and `pricing` (routing/models-file.ts). A configuration
   * file has its own `models` and `pricing` sections instead.
   */
  models?: string;
  /** Deployment mode of the store directory (`--mode`, `KEYHOLD_MODE`; default `shared`). */
  mode?: DeploymentMode;
  /** Where the first-call instructions go (default stdout). */
  print?: (text: string) => void;
  /** Where warnings go (default stderr). */
  warn?: (text: string) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Served {
  gateway: Gateway;
  url: string;
  /** Drains requests, closes the gateway, then the store. */
  close(): Promise<void>;
}

/**
 * `keyhold serve`. With `config`, tenants, keys and credentials come from that file (as before the
 * store existed). Without, from the store: PostgreSQL when `DATABASE_URL` is set, else the
 * embedded PGlite in the data directory. Migrations run and the master key is checked before
 * the port opens; a first run of the embedded store generates its master key and seeds the demo.
 */
export async function serve(options: ServeOptions): Promise<Served> {
  if (options.config && options.models) {
    throw new CliError(
      "--models is for store mode: with --config, use the configuration file's models section",
    );
  }
  return options.config ? serveConfig(options, options.config) : serveStore(options);
}

/** The operator's models file, if one is named; its problems stop the start, each on a line. */
async function operatorModels(
  options: ServeOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ catalogue: ModelCatalogue; priceOverrides: PriceOverride[] } | undefined> {
  const file = options.models ?? (env.KEYHOLD_MODELS_FILE || undefined);
  if (file === undefined) return undefined;
  const loaded = await loadModelsFile(file);
  if (!loaded.ok) throw new CliError(`Invalid models file ${file}:\n  ${loaded.errors.join('\n  ')}`);
  return loaded;
}

async function serveConfig(options: ServeOptions, file: string): Promise<Served> {
  const env = options.env ?? process.env;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`Cannot read the configuration file ${file}`);
  }
  const parsed = parseGatewayConfig(text);
  if (!parsed.ok) throw new CliError(`Invalid configuration ${file}:\n  ${parsed.errors.join('\n  ')}`);
  const config: GatewayConfig = parsed.config;
  const loaded = createConfigDirectory(config, { env });
  if (!loaded.ok) throw new CliError(`Invalid configuration:\n  ${loaded.errors.join('\n  ')}`);

  const gateway = createGateway({
    directory: loaded.directory,
    catalogue: { aliases: config.models?.aliases ?? {}, list: config.models?.list ?? [] },
    ...(config.providers ? { providerFields: config.providers } : {}),
    logger: createLogger({ level: env.KEYHOLD_LOG_LEVEL ?? 'info' }),
    ...(config.server?.bodyLimit !== undefined ? { bodyLimit: config.server.bodyLimit } : {}),
    // REDIS_URL set: rate limits and budgets are shared by every instance on that Redis.
    ...(env.REDIS_URL ? { limits: { redisUrl: env.REDIS_URL } } : {}),
    ...(config.pricing?.overrides
      ? { prices: createPriceTable({ overrides: config.pricing.overrides }) }
      : {}),
  });
  const port = options.port ?? config.server?.port ?? 4000;
  const host = options.host ?? config.server?.host ?? '127.0.0.1';
  const url = await gateway.listen({ port, host });
  return { gateway, url, close: () => gateway.close() };
}

async function serveStore(options: ServeOptions): Promise<Served> {
  const env = options.env ?? process.env;
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const warn = options.warn ?? ((text: string) => process.stderr.write(`${text}\n`));
  const mode = options.mode ?? parseMode(env.KEYHOLD_MODE);
  // Before the store opens: a bad file or setting is reported at once and changes nothing.
  const models = await operatorModels(options, env);
  const openedTtlMs = openedKeyTtlOf(env.KEYHOLD_OPENED_KEY_TTL_MS);
  const store = await openStore({
    env,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    mayGenerateKey: true,
  });
  const logger = createLogger({ level: env.KEYHOLD_LOG_LEVEL ?? 'info' });
  let gateway: Gateway | undefined;
  let ledger: OpenedLedger | undefined;
  try {
    const { database } = store;
    const vault = store.vault!;
    const notice = masterKeyNotice(store.keyringSource);
    if (notice) warn(notice);
    if (store.applied.length > 0) logger.info({ migrations: store.applied }, 'database migrated');

    const seedAllowed = database.backend === 'pglite' || options.demo === true;
    const demo: DemoState = seedAllowed ? await seedDemo(database.db, vault) : { kind: 'absent' };

    const directory = createStoreDirectory({
      db: database.db,
      vault,
      mode,
      changes: changeSourceOf(database),
      ...(openedTtlMs !== undefined ? { openedTtlMs } : {}),
      onError: (error) => logger.warn({ err: { type: error.name, message: error.message } }, 'directory'),
    });
    await directory.ready;
    // Tenant-supplied endpoints (vLLM, Azure, custom base URLs) are an SSRF surface: every upstream
    // connection goes through the egress guard, which re-checks each resolved address against the
    // operator's allow-list at connect time. An operator's change of that list, made through any
    // instance, reaches this one's policy through the directory's change notices.
    const ssrf = createSsrfPolicy();
    const egressAgent = createEgressDispatcher({ policy: ssrf });
    await followAllowList({
      subscribe: (listener) => directory.subscribe(listener),
      db: database.db,
      policy: ssrf,
      // Connections are checked when opened: a removed host must not keep a pooled one.
      onEntriesRemoved: () => egressAgent.reset(),
      onError: (error) => logger.warn({ err: { type: error.name } }, 'egress allow-list not reloaded'),
    }).settled();
    const egress = createUndiciTransport({ dispatcher: egressAgent });
    ledger = await openLedger(store, env, logger);
    gateway = createGateway({
      directory,
      catalogue: catalogueOf(models?.catalogue, demo),
      // The models file's prices: how an operator prices what the catalogue does not know.
      ...(models && models.priceOverrides.length > 0
        ? { prices: createPriceTable({ overrides: models.priceOverrides }) }
        : {}),
      logger,
      transport: egress,
      // Budget-alert webhooks are tenant-supplied URLs: the same egress guard as upstream calls.
      webhooks: createWebhookDeliverer({ fetch: egressFetch(egressAgent) }),
      usage: ledger.usage,
      ...(env.REDIS_URL ? { limits: { redisUrl: env.REDIS_URL } } : {}),
      onBudgetAlert: createBudgetAlertAuditor({
        db: database.db,
        onError: (error) =>
          logger.warn({ err: { type: (error as Error)?.name } }, 'budget alert not written to the audit log'),
      }),
    });
    // The admin API is on only when the operator gives a bootstrap token.
    await gateway.app.register(
      createAdminApi({
        db: database.db,
        vault,
        operatorToken: env.KEYHOLD_OPERATOR_TOKEN,
        ssrf,
        transport: egress,
        logger,
      }),
    );
    const url = await gateway.listen({ port: options.port ?? 4000, host: options.host ?? '127.0.0.1' });
    const dataDirFlag = store.dataDir && options.dataDir !== undefined ? ` --data-dir ${store.dataDir}` : '';
    print(storeBanner({ url, where: store.where, demo, dataDirFlag }));

    const started = gateway;
    return {
      gateway: started,
      url,
      async close() {
        try {
          // Flushes the ledger (usage.close) before the store goes.
          await started.close();
        } finally {
          ledger?.unlock();
          await store.close();
        }
      },
    };
  } catch (error) {
    await gateway?.close().catch(() => undefined);
    if (!gateway) await ledger?.usage.close().catch(() => undefined);
    ledger?.unlock();
    await store.close();
    throw error;
  }
}

/** The embedded store's journal lives in its data directory; on PostgreSQL, here by default. */
export const DEFAULT_LEDGER_DIR = './.keyhold/ledger';

interface OpenedLedger {
  usage: UsageLedger;
  unlock(): void;
}

/**
 * The durable usage ledger of a store-backed gateway: its journal in `<data-dir>/ledger` on the
 * embedded store (covered by the data directory's lock), or in `KEYHOLD_LEDGER_DIR` (default
 * `./.keyhold/ledger`) on PostgreSQL, locked to this process: each instance needs its own,
 * persistent journal directory. Leftover events of an earlier run are replayed before serving.
 */
async function openLedger(
  store: OpenedStore,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): Promise<OpenedLedger> {
  const dir = store.dataDir
    ? join(store.dataDir, 'ledger')
    : resolve(env.KEYHOLD_LEDGER_DIR || DEFAULT_LEDGER_DIR);
  let unlock = () => {};
  if (!store.dataDir) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      unlock = lockDataDir(dir);
    } catch (error) {
      if (!(error instanceof DataDirBusyError)) throw error;
      throw new CliError(
        `The usage journal directory ${dir} is in use by another keyhold process: give each instance its own KEYHOLD_LEDGER_DIR`,
      );
    }
  }
  try {
    const usage = await openUsageLedger({
      db: store.database.db,
      dir,
      fsync: env.KEYHOLD_LEDGER_FSYNC === '1' || env.KEYHOLD_LEDGER_FSYNC === 'true',
      logger,
    });
    logger.info({ dir }, 'usage ledger journal');
    return { usage, unlock };
  } catch (error) {
    unlock();
    throw new CliError(error instanceof Error ? error.message : 'Cannot open the usage ledger', {
      cause: error,
    });
  }
}

/**
 * The operator's models, plus the demo's alias while the demo tenant exists (its default model
 * is that alias); the operator's entries win on a clash. Without a models file: the demo's.
 */
function catalogueOf(models: ModelCatalogue | undefined, demo: DemoState): ModelCatalogue {
  const withDemo = demo.kind !== 'absent' || models === undefined;
  return {
    aliases: { ...(withDemo ? DEMO_CATALOGUE.aliases : {}), ...models?.aliases },
    list: [...new Set([...(withDemo ? DEMO_CATALOGUE.list : []), ...(models?.list ?? [])])],
  };
}

/** `KEYHOLD_MODE` / `--mode`: `single`, `shared` (default) or `dedicated`. */
export function parseMode(value: string | undefined): DeploymentMode {
  if (value === undefined || value === '') return 'shared';
  if (value === 'single' || value === 'shared' || value === 'dedicated') return value;
  throw new CliError(`The deployment mode must be single, shared or dedicated (got "${value.slice(0, 20)}")`);
}

/**
 * `KEYHOLD_OPENED_KEY_TTL_MS`: how long a decrypted credential is reused (store-directory.ts,
 * `openedTtlMs`); unset: the directory's default, `0`: decrypt on every request.
 */
function openedKeyTtlOf(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,7}$/.test(value)) {
    throw new CliError('KEYHOLD_OPENED_KEY_TTL_MS must be a whole number of milliseconds (0 to 9999999)');
  }
  return Number(value);
}
