import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import { generateVirtualKey } from '../../src/auth/virtual-key.js';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { createLogger } from '../../src/http/logger.js';
import {
  openUsageLedger,
  type UsageLedger,
  type UsageLedgerOptions,
} from '../../src/metering/ledger/usage-ledger.js';
import { createPriceTable, type PriceOverride } from '../../src/metering/price-table.js';
import { tenantOwner } from '../../src/store/credentials.js';
import type { Backend } from '../../src/store/database.js';
import { changeSourceOf } from '../../src/store/directory-changes.js';
import type { Schema } from '../../src/store/schema.js';
import { createStoreDirectory } from '../../src/store/store-directory.js';
import { createTenant } from '../../src/store/tenants.js';
import type { TestDatabase } from '../../src/store/testing/backends.js';
import { openTestDatabase } from '../../src/store/testing/backends.js';
import { createUser } from '../../src/store/users.js';
import { createVirtualKey } from '../../src/store/virtual-keys.js';
import { checkKeyring } from '../../src/vault/key-check.js';
import { createKeyring } from '../../src/vault/keyring.js';
import { storeCredential } from '../../src/vault/store-credential.js';
import { createVault } from '../../src/vault/vault.js';

/**
 * A tenant with a user, OpenAI and Anthropic credentials pointing at a local upstream (the OpenAI
 * one's id is `credentialId`), and a virtual key of the user.
 */
export interface LedgerTenant {
  tenantId: string;
  userId: string;
  credentialId: string;
  virtualKeyId: string;
  /** The virtual key to present. */
  key: string;
}

/** Creates the tenant of {@link LedgerTenant} in a store (a fresh keyring, checked into it). */
export async function seedLedgerTenant(
  db: Kysely<Schema>,
  upstreamUrl: string,
  keyring = createKeyring([{ version: 1, key: randomBytes(32) }]),
): Promise<LedgerTenant> {
  const vault = createVault({ keyring });
  await checkKeyring(db, keyring);
  const tenant = await createTenant(db, { name: `t-${randomBytes(4).toString('hex')}`, settings: {} });
  const user = await createUser(db, {
    tenantId: tenant.id,
    email: `u-${randomBytes(4).toString('hex')}@example.test`,
    name: 'U',
    role: 'member',
  });
  const credential = await storeCredential(db, vault, {
    owner: tenantOwner(tenant.id),
    provider: 'openai',
    purpose: 'any',
    secrets: { apiKey: 'sk-ledger-test-000000000' },
    fields: { baseURL: `${upstreamUrl}/v1` },
  });
  await storeCredential(db, vault, {
    owner: tenantOwner(tenant.id),
    provider: 'anthropic',
    purpose: 'any',
    secrets: { apiKey: 'sk-ant-ledger-test-000000000' },
    fields: { baseURL: upstreamUrl },
  });
  const generated = generateVirtualKey();
  const virtualKey = await createVirtualKey(db, {
    tenantId: tenant.id,
    userId: user.id,
    keyHash: generated.hash,
    prefix: generated.prefix,
    hint: generated.hint,
    name: 'ledger',
  });
  return {
    tenantId: tenant.id,
    userId: user.id,
    credentialId: credential.id,
    virtualKeyId: virtualKey.id,
    key: generated.key,
  };
}

export interface LedgerGateway {
  database: TestDatabase;
  tenant: LedgerTenant;
  ledger: UsageLedger;
  gateway: Gateway;
  url: string;
  /** The journal directory. */
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

/**
 * A store-backed gateway (fresh test database on `backend`) whose usage sink is the durable
 * ledger, journaling in a temporary directory. `ledgerDb` lets a test give the ledger its own
 * connection (one it can cut); by default it shares the store's.
 */
export async function startLedgerGateway(
  backend: Backend,
  upstreamUrl: string,
  options: {
    ledger?: Partial<UsageLedgerOptions>;
    ledgerDb?: (database: TestDatabase) => Kysely<Schema>;
    overrides?: PriceOverride[];
  } = {},
): Promise<LedgerGateway> {
  const database = await openTestDatabase(backend);
  const keyring = createKeyring([{ version: 1, key: randomBytes(32) }]);
  const tenant = await seedLedgerTenant(database.db, upstreamUrl, keyring);
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-ledger-gw-'));
  const logs: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const ledger = await openUsageLedger({
    db: options.ledgerDb ? options.ledgerDb(database) : database.db,
    dir,
    logger,
    ...options.ledger,
  });
  const directory = createStoreDirectory({
    db: database.db,
    vault: createVault({ keyring }),
    mode: 'shared',
    changes: changeSourceOf(database),
  });
  await directory.ready;
  const gateway = createGateway({
    directory,
    logger,
    usage: ledger,
    maxRetries: 0,
    drainTimeoutMs: 5_000,
    ...(options.overrides ? { prices: createPriceTable({ overrides: options.overrides }) } : {}),
  });
  const url = await gateway.listen({ port: 0 });
  return {
    database,
    tenant,
    ledger,
    gateway,
    url,
    dir,
    logs,
    async close() {
      await gateway.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
