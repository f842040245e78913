import { type Kysely, sql } from 'kysely';
import type { SealedWebhookSecret } from '../vault/alert-webhook-secret.js';
import type { AlertWebhookRow, Schema } from './schema.js';

/** A webhook without its ciphertext: safe to return. */
export type AlertWebhookMetadata = Omit<AlertWebhookRow, 'ciphertext'>;

const METADATA_COLUMNS = ['tenantId', 'url', 'keyVersion', 'hint', 'createdAt', 'updatedAt'] as const;

/** The tenant's webhook with its sealed secret (run inside `withTenant`, or system scope). */
export async function getAlertWebhookRow(
  db: Kysely<Schema>,
  tenantId: string,
): Promise<AlertWebhookRow | undefined> {
  const row = await db
    .selectFrom('alertWebhooks')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .executeTakeFirst();
  return row && normaliseBytes(row);
}

export async function getAlertWebhook(
  db: Kysely<Schema>,
  tenantId: string,
): Promise<AlertWebhookMetadata | undefined> {
  return db
    .selectFrom('alertWebhooks')
    .select(METADATA_COLUMNS)
    .where('tenantId', '=', tenantId)
    .executeTakeFirst();
}

/** Sets the URL and sealed secret; `created_at` stays what it was when the webhook existed. */
export async function putAlertWebhook(
  db: Kysely<Schema>,
  tenantId: string,
  url: string,
  sealed: SealedWebhookSecret,
): Promise<AlertWebhookMetadata> {
  return db
    .insertInto('alertWebhooks')
    .values({ tenantId, url, ...sealedColumns(sealed) })
    .onConflict((oc) =>
      oc.column('tenantId').doUpdateSet({ url, ...sealedColumns(sealed), updatedAt: sql<Date>`now()` }),
    )
    .returning(METADATA_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Replaces the sealed secret of an existing webhook; undefined when there is none. */
export async function replaceAlertWebhookSecret(
  db: Kysely<Schema>,
  tenantId: string,
  sealed: SealedWebhookSecret,
): Promise<AlertWebhookMetadata | undefined> {
  return db
    .updateTable('alertWebhooks')
    .set({ ...sealedColumns(sealed), updatedAt: sql<Date>`now()` })
    .where('tenantId', '=', tenantId)
    .returning(METADATA_COLUMNS)
    .executeTakeFirst();
}

export async function deleteAlertWebhook(db: Kysely<Schema>, tenantId: string): Promise<boolean> {
  const result = await db.deleteFrom('alertWebhooks').where('tenantId', '=', tenantId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Rotation support: tenants whose webhook secret is not sealed under `version`, a batch at a time. */
export async function alertWebhooksNotAtVersion(
  db: Kysely<Schema>,
  version: number,
  limit: number,
  afterTenantId?: string,
): Promise<string[]> {
  let query = db.selectFrom('alertWebhooks').select('tenantId').where('keyVersion', '<>', version);
  if (afterTenantId) query = query.where('tenantId', '>', afterTenantId);
  const rows = await query.orderBy('tenantId').limit(limit).execute();
  return rows.map((r) => r.tenantId);
}

export async function countAlertWebhooksAtVersion(db: Kysely<Schema>, version: number): Promise<number> {
  const row = await db
    .selectFrom('alertWebhooks')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('keyVersion', '=', version)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Every key version a webhook secret uses (the start-up keyring check). */
export async function alertWebhookKeyVersions(db: Kysely<Schema>): Promise<number[]> {
  const rows = await db.selectFrom('alertWebhooks').select('keyVersion').distinct().execute();
  return rows.map((r) => r.keyVersion);
}

/**
 * Compare-and-set of the sealed secret, for rotation: only if the row still holds `expected`
 * (a secret rotated or replaced meanwhile is already on the newest key and wins).
 */
export async function replaceAlertWebhookCiphertext(
  db: Kysely<Schema>,
  tenantId: string,
  expected: Uint8Array,
  sealed: SealedWebhookSecret,
): Promise<boolean> {
  const result = await db
    .updateTable('alertWebhooks')
    .set({ ciphertext: sealed.ciphertext, keyVersion: sealed.keyVersion })
    .where('tenantId', '=', tenantId)
    .where('ciphertext', '=', expected)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

function sealedColumns(sealed: SealedWebhookSecret) {
  return { ciphertext: sealed.ciphertext, keyVersion: sealed.keyVersion, hint: sealed.hint };
}

/** pg returns `Buffer`, PGlite a plain `Uint8Array`: callers get a `Buffer` from both. */
function normaliseBytes(row: AlertWebhookRow): AlertWebhookRow {
  const { ciphertext } = row;
  return Buffer.isBuffer(ciphertext)
    ? row
    : { ...row, ciphertext: Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength) };
}
