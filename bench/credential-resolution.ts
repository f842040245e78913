/**
 * Credential resolution as the gateway's request path does it, with 10,000 tenants × 3 stored
 * credentials, against a bare Map lookup + AES-256-GCM decryption measured in the same run.
 *
 *   npm run bench:credentials -- [--tenants 10000] [--resolutions 100000] [--cold N]
 *                                [--postgres] [--json file] [--cpu-prof file.cpuprofile]
 *
 * Store: in-memory PGlite by default; `--postgres` (or KEYHOLD_BENCH_DATABASE_URL) uses a real
 * server — a throwaway database `keyhold_bench_<random>` is created on it and dropped at the end
 * (the URL defaults to KEYHOLD_TEST_DATABASE_URL, then postgres://postgres@127.0.0.1:5432/postgres).
 *
 * Each tenant gets a tenant-level `openai` and `anthropic` credential and a user-level `openai`
 * one, sealed by the real vault (random master key) and inserted in batches. One resolution is
 * what `provider-caller.ts` does before calling a provider: `resolveProviderKey` over the
 * gateway's directory stack (`createDirectoryCache` over `createStoreDirectory`), then `open` on
 * the chosen ref — the store directory's sealed row, decrypted by the vault at call time.
 *
 * - cold: a fresh directory stack (every cache empty); the first resolution of each tenant and
 *   provider, so it pays the tenant-scoped query (RLS transaction) plus the decryption.
 * - warm: `--resolutions` resolutions for random (tenant, provider, tenant-or-user caller)
 *   after every entry is cached. Target: p99 < 50 µs.
 * - baseline: the same random sequence against a Map of sealed blobs, decrypted with
 *   `createDecipheriv('aes-256-gcm')` (no async, no policy): the floor for "find the key and decrypt it".
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Caller } from '../packages/gateway/src/auth/authenticate.js';
import type { Directory, Tenant } from '../packages/gateway/src/routing/directory.js';
import { createDirectoryCache } from '../packages/gateway/src/routing/directory-cache.js';
import { resolveProviderKey } from '../packages/gateway/src/routing/resolve-provider-key.js';
import { createDatabase, type Database } from '../packages/gateway/src/store/database.js';
import type { NewCredentialRow, Schema } from '../packages/gateway/src/store/schema.js';
import { createStoreDirectory, type StoreDirectory } from '../packages/gateway/src/store/store-directory.js';
import { checkKeyring } from '../packages/gateway/src/vault/key-check.js';
import { createKeyring } from '../packages/gateway/src/vault/keyring.js';
import { createVault, type Vault } from '../packages/gateway/src/vault/vault.js';

const { values } = parseArgs({
  allowPositionals: true,
  options: {
    tenants: { type: 'string', default: '10000' },
    resolutions: { type: 'string', default: '100000' },
    cold: { type: 'string' },
    postgres: { type: 'boolean', default: false },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const TENANTS = wholeNumber(values.tenants!, '--tenants');
const RESOLUTIONS = wholeNumber(values.resolutions!, '--resolutions');
const COLD = values.cold === undefined ? TENANTS : Math.min(TENANTS, wholeNumber(values.cold, '--cold'));
const POSTGRES_URL =
  process.env.KEYHOLD_BENCH_DATABASE_URL ??
  (values.postgres
    ? (process.env.KEYHOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
    : undefined);
const PROVIDERS = ['openai', 'anthropic'] as const;
const BATCH = 1000;
const LONG_TTL = 3_600_000;

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number from 1`);
  return n;
}

interface Seeded {
  tenantIds: string[];
  userIds: string[];
}

/** Tenants, one user each, and three sealed credentials per tenant, in batched inserts. */
async function seed(db: Kysely<Schema>, vault: Vault): Promise<Seeded> {
  const tenantIds = Array.from({ length: TENANTS }, () => randomUUID());
  const userIds = Array.from({ length: TENANTS }, () => randomUUID());
  for (let i = 0; i < TENANTS; i += BATCH) {
    const ids = tenantIds.slice(i, i + BATCH);
    await db
      .insertInto('tenants')
      .values(ids.map((id, j) => ({ id, name: `bench-${i + j}`, settings: '{}' })))
      .execute();
    await db
      .insertInto('users')
      .values(
        ids.map((tenantId, j) => ({
          id: userIds[i + j]!,
          tenantId,
          email: `user-${i + j}@bench.invalid`,
          name: `User ${i + j}`,
          role: 'member' as const,
        })),
      )
      .execute();
  }
  let rows: NewCredentialRow[] = [];
  const now = new Date();
  const flush = async () => {
    if (rows.length > 0) await db.insertInto('credentials').values(rows).execute();
    rows = [];
  };
  for (let i = 0; i < TENANTS; i++) {
    const tenantId = tenantIds[i]!;
    const slots = [
      { ownerKind: 'tenant' as const, ownerId: tenantId, provider: 'openai' },
      { ownerKind: 'tenant' as const, ownerId: tenantId, provider: 'anthropic' },
      { ownerKind: 'user' as const, ownerId: userIds[i]!, provider: 'openai' },
    ];
    for (const slot of slots) {
      const id = randomUUID();
      // A throwaway key per credential; never printed.
      const sealed = vault.seal(
        {
          tenantId,
          ownerKind: slot.ownerKind,
          ownerId: slot.ownerId,
          credentialId: id,
          provider: slot.provider,
        },
        { apiKey: `bench-throwaway-${randomBytes(24).toString('base64url')}` },
      );
      rows.push({
        id,
        tenantId,
        ...slot,
        purpose: 'any',
        ...sealed,
        fields: '{}',
        configuredAt: now,
        updatedAt: now,
      });
      if (rows.length >= BATCH) await flush();
    }
  }
  await flush();
  return { tenantIds, userIds };
}

/** The gateway's directory stack over the store, with every cache empty. */
function directoryStack(db: Kysely<Schema>, vault: Vault): { store: StoreDirectory; cache: Directory } {
  // TTLs longer than the run: entries expire by time in the gateway too, but this measures the
  // warm path, not how often a 30 s TTL refills it. Every resolution decrypts (openedTtlMs 0), as
  // the baseline does: the gateway reuses an opened credential for up to 10 s, which would make
  // this a measure of a Map lookup.
  const store = createStoreDirectory({ db, vault, mode: 'shared', sealedTtlMs: LONG_TTL, openedTtlMs: 0 });
  return { store, cache: createDirectoryCache(store, { ttlMs: LONG_TTL }) };
}

/** What `provider-caller.ts` does before it calls a provider: choose the key, then open it. */
async function resolveOnce(directory: Directory, caller: Caller, provider: string): Promise<number> {
  const chosen = await resolveProviderKey({
    directory,
    caller,
    provider,
    operation: 'chat',
    hasHeaderKey: false,
  });
  if (!chosen.ok || chosen.value.source === 'header') throw new Error('resolution failed');
  const credential = await directory.open(chosen.value.ref);
  // Use the plaintext the way an adapter would (a header value), then drop it.
  return credential.secrets.apiKey!.reveal().length;
}

function percentiles(samplesNs: Float64Array): {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
} {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]! / 1000,
    mean: sum / sorted.length / 1000,
  };
}

const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

async function openBenchDatabase(): Promise<{
  database: Database;
  where: string;
  drop: () => Promise<void>;
}> {
  if (!POSTGRES_URL) {
    return { database: await createDatabase(), where: 'PGlite (in memory)', drop: async () => undefined };
  }
  const name = `keyhold_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), maxConnections: 4 });
  return {
    database,
    where: `PostgreSQL ${url.host} (throwaway database ${name})`,
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

async function main(): Promise<void> {
  const { database, where, drop } = await openBenchDatabase();
  const stacks: StoreDirectory[] = [];
  try {
    const { db } = database;
    const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
    await checkKeyring(db, vault.keyring);

    let started = performance.now();
    const { tenantIds, userIds } = await seed(db, vault);
    const seedMs = performance.now() - started;
    console.log(`store: ${where}; node ${process.version}`);
    console.log(
      `seeded ${TENANTS} tenants, ${TENANTS} users, ${TENANTS * 3} credentials (sealed by the vault) in ${(seedMs / 1000).toFixed(1)} s`,
    );

    // Callers as `authenticate` builds them: the tenant (from the directory), optionally a user.
    const tenants: Tenant[] = [];
    {
      const { store, cache } = directoryStack(db, vault);
      stacks.push(store);
      for (const id of tenantIds) tenants.push((await cache.getTenant(id))!);
    }
    const callerOf = (i: number, asUser: boolean): Caller => ({
      tenant: tenants[i]!,
      ...(asUser ? { user: { id: userIds[i]!, tenantId: tenantIds[i]!, status: 'active' as const } } : {}),
      memberships: [],
      virtualKeyId: 'bench',
    });
    const callers = tenants.map((_, i) => [callerOf(i, false), callerOf(i, true)] as const);

    // Cold: a fresh stack; the first resolution of each tenant and provider.
    const { store, cache } = directoryStack(db, vault);
    stacks.push(store);
    const order = shuffle(Array.from({ length: TENANTS }, (_, i) => i));
    const cold = new Float64Array(COLD * PROVIDERS.length);
    let n = 0;
    started = performance.now();
    for (const i of order.slice(0, COLD)) {
      for (const provider of PROVIDERS) {
        const t0 = process.hrtime.bigint();
        await resolveOnce(cache, callers[i]![0], provider);
        cold[n++] = Number(process.hrtime.bigint() - t0);
      }
    }
    const coldWallMs = performance.now() - started;
    // The rest of the tenants, so that every entry is cached before the warm run.
    for (const i of order.slice(COLD))
      for (const provider of PROVIDERS) await resolveOnce(cache, callers[i]![0], provider);

    // One random sequence for both the gateway path and the baseline.
    const sequence = new Uint32Array(RESOLUTIONS);
    for (let k = 0; k < RESOLUTIONS; k++) sequence[k] = Math.floor(Math.random() * TENANTS * 4);
    const pick = (code: number) => {
      const i = code >> 2;
      const provider = PROVIDERS[code & 1]!;
      // A user-level caller only for openai, where the user has its own credential.
      const asUser = (code & 2) !== 0 && provider === 'openai';
      return { i, provider, asUser };
    };

    // Untimed warm-up pass (JIT, every entry touched once).
    for (let k = 0; k < Math.min(RESOLUTIONS, 20_000); k++) {
      const { i, provider, asUser } = pick(sequence[k]!);
      await resolveOnce(cache, callers[i]![asUser ? 1 : 0], provider);
    }
    const warm = new Float64Array(RESOLUTIONS);
    const profiler = values['cpu-prof'] ? await startProfiler() : undefined;
    started = performance.now();
    for (let k = 0; k < RESOLUTIONS; k++) {
      const { i, provider, asUser } = pick(sequence[k]!);
      const t0 = process.hrtime.bigint();
      await resolveOnce(cache, callers[i]![asUser ? 1 : 0], provider);
      warm[k] = Number(process.hrtime.bigint() - t0);
    }
    const warmWallMs = performance.now() - started;
    if (profiler) writeFileSync(values['cpu-prof']!, JSON.stringify(await profiler.stop()));

    // Baseline: a Map of the same sealed rows, decrypted with a bare AES-256-GCM decipher.
    const baseline = await baselineRun(db, sequence, tenantIds, userIds);

    const c = percentiles(cold);
    const w = percentiles(warm);
    const b = percentiles(baseline);
    console.log('');
    console.log(`cold  (cache empty, first resolution per tenant × provider, n=${cold.length}):`);
    console.log(
      `  p50 ${fmt(c.p50)}  p90 ${fmt(c.p90)}  p99 ${fmt(c.p99)}  max ${fmt(c.max)}  (${((cold.length / coldWallMs) * 1000).toFixed(0)} resolutions/s)`,
    );
    console.log(`warm  (every entry cached, n=${RESOLUTIONS}, random tenants, providers and callers):`);
    console.log(
      `  p50 ${fmt(w.p50)}  p90 ${fmt(w.p90)}  p99 ${fmt(w.p99)}  max ${fmt(w.max)}  mean ${fmt(w.mean)}  (${((RESOLUTIONS / warmWallMs) * 1000).toFixed(0)} resolutions/s)`,
    );
    console.log(`baseline  (Map lookup + AES-256-GCM decrypt, same sequence):`);
    console.log(
      `  p50 ${fmt(b.p50)}  p90 ${fmt(b.p90)}  p99 ${fmt(b.p99)}  max ${fmt(b.max)}  mean ${fmt(b.mean)}`,
    );
    console.log('');
    console.log(`warm ÷ baseline: p50 ${(w.p50 / b.p50).toFixed(2)}×, p99 ${(w.p99 / b.p99).toFixed(2)}×`);
    const met = w.p99 < 50;
    console.log(`warm p99 target < 50 µs: ${met ? 'met' : 'MISSED'} (${fmt(w.p99)})`);
    if (values.json) {
      writeFileSync(
        values.json,
        `${JSON.stringify(
          {
            store: where,
            node: process.version,
            tenants: TENANTS,
            credentials: TENANTS * 3,
            seedSeconds: seedMs / 1000,
            coldMicros: c,
            warmMicros: w,
            baselineMicros: b,
            ratio: { p50: w.p50 / b.p50, p99: w.p99 / b.p99 },
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    for (const stack of stacks) await stack.close();
    await database.close();
    await drop();
  }
}

/** The same sequence against a plain Map of sealed rows and a bare decipher: the floor. */
async function baselineRun(
  db: Kysely<Schema>,
  sequence: Uint32Array,
  tenantIds: string[],
  userIds: string[],
): Promise<Float64Array> {
  const rows = await db
    .selectFrom('credentials')
    .select(['id', 'tenantId', 'ownerKind', 'ownerId', 'provider', 'ciphertext'])
    .execute();
  // Blobs of the same shape as the vault's (12-byte IV, GCM tag, the same associated data and
  // plaintext sizes) under a key of our own: the keyring does not hand its keys out.
  const key = randomBytes(32);
  const map = new Map<string, { iv: Buffer; data: Buffer; tag: Buffer; aad: Buffer }>();
  for (const row of rows) {
    const aad = Buffer.from(
      JSON.stringify([
        'keyhold.credential.v1',
        row.tenantId,
        row.ownerKind,
        row.ownerId,
        row.id,
        row.provider,
      ]),
    );
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const data = Buffer.concat([
      cipher.update(`{"apiKey":"bench-throwaway-${randomBytes(24).toString('base64url')}"}`),
      cipher.final(),
    ]);
    const slot = row.ownerKind === 'user' ? `u:${row.ownerId}` : `t:${row.tenantId}:${row.provider}`;
    map.set(slot, { iv, data, tag: cipher.getAuthTag(), aad });
  }
  const samples = new Float64Array(sequence.length);
  let sink = 0;
  const decrypt = (code: number) => {
    const i = code >> 2;
    const provider = code & 1 ? 'anthropic' : 'openai';
    const asUser = (code & 2) !== 0 && provider === 'openai';
    const entry = map.get(asUser ? `u:${userIds[i]}` : `t:${tenantIds[i]}:${provider}`)!;
    const decipher = createDecipheriv('aes-256-gcm', key, entry.iv);
    decipher.setAAD(entry.aad);
    decipher.setAuthTag(entry.tag);
    const plain = Buffer.concat([decipher.update(entry.data), decipher.final()]);
    return plain.length;
  };
  for (let k = 0; k < Math.min(sequence.length, 20_000); k++) sink += decrypt(sequence[k]!);
  for (let k = 0; k < sequence.length; k++) {
    const t0 = process.hrtime.bigint();
    sink += decrypt(sequence[k]!);
    samples[k] = Number(process.hrtime.bigint() - t0);
  }
  if (sink === 0) throw new Error('unreachable');
  return samples;
}

/** A CPU profile of the warm run only (open it in Chrome DevTools or VS Code). */
async function startProfiler(): Promise<{ stop: () => Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
