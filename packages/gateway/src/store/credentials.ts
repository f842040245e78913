import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type {
  CredentialPurpose,
  CredentialRow,
  CredentialStatus,
  CredentialsTable,
  OwnerKind,
  Schema,
} from './schema.js';

/** The owner id of operator (global) credentials. */
export const OPERATOR_OWNER_ID = '00000000-0000-0000-0000-000000000000';

/** Who a credential belongs to. */
export interface CredentialOwner {
  /** Null only for the operator. */
  tenantId: string | null;
  kind: OwnerKind;
  /** Tenant, group or user id; `OPERATOR_OWNER_ID` for the operator. */
  id: string;
}

export const operatorOwner = (): CredentialOwner => ({
  tenantId: null,
  kind: 'operator',
  id: OPERATOR_OWNER_ID,
});
export const tenantOwner = (tenantId: string): CredentialOwner => ({
  tenantId,
  kind: 'tenant',
  id: tenantId,
});
export const groupOwner = (tenantId: string, groupId: string): CredentialOwner => ({
  tenantId,
  kind: 'group',
  id: groupId,
});
export const userOwner = (tenantId: string, userId: string): CredentialOwner => ({
  tenantId,
  kind: 'user',
  id: userId,
});

/** One credential slot: at most one credential per owner, provider and purpose. */
export interface CredentialSlot {
  owner: CredentialOwner;
  provider: string;
  purpose: CredentialPurpose;
}

/** The sealed secret part, produced by the vault for a given credential id. */
export interface SealedSecret {
  ciphertext: Uint8Array;
  keyVersion: number;
  hint: string;
}

/** Everything about a credential except its ciphertext: safe to list and to return. */
export type CredentialMetadata = Omit<CredentialRow, 'ciphertext'>;

const METADATA_COLUMNS = [
  'id',
  'tenantId',
  'ownerKind',
  'ownerId',
  'provider',
  'purpose',
  'keyVersion',
  'hint',
  'fields',
  'status',
  'configuredAt',
  'validatedAt',
  'lastUsedAt',
  'updatedAt',
] as const satisfies ReadonlyArray<keyof CredentialsTable>;

/** Which link of the gateway's resolution chain a candidate comes from. */
export type ChainLink = 'user' | 'group' | 'tenant' | 'operator';

/** A stored credential that could serve a call, with its sealed secret for the vault to open. */
export interface ResolutionCandidate extends CredentialRow {
  link: ChainLink;
}

export class CredentialOwnerError extends Error {
  constructor(readonly ownerKind: OwnerKind) {
    super(`The credential's ${ownerKind} does not exist in this tenant`);
    this.name = 'CredentialOwnerError';
  }
}

/**
 * Creates or replaces the credential in a slot. `seal` is called with the row's id (new, or the
 * existing row's) because the vault binds the ciphertext to it. Two writers racing on an empty
 * slot cannot store a ciphertext sealed for the losing id: the insert does nothing on conflict
 * and the loser starts over with the winner's id.
 *
 * Replacing the secret resets the status to active and clears the validation time.
 */
export async function upsertCredential(
  db: Kysely<Schema>,
  input: CredentialSlot & { fields?: Record<string, string> },
  seal: (credentialId: string) => SealedSecret,
): Promise<CredentialMetadata> {
  const { owner, provider, purpose } = input;
  const fields = JSON.stringify(input.fields ?? {});
  const run = async (trx: Kysely<Schema>): Promise<CredentialMetadata> => {
    await assertOwnerExists(trx, owner);
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await trx
        .selectFrom('credentials')
        .select('id')
        .where('ownerKind', '=', owner.kind)
        .where('ownerId', '=', owner.id)
        .where('provider', '=', provider)
        .where('purpose', '=', purpose)
        .forUpdate()
        .executeTakeFirst();
      const now = new Date();
      if (existing) {
        const sealed = seal(existing.id);
        return trx
          .updateTable('credentials')
          .set({ ...sealed, fields, status: 'active', configuredAt: now, validatedAt: null, updatedAt: now })
          .where('id', '=', existing.id)
          .returning(METADATA_COLUMNS)
          .executeTakeFirstOrThrow();
      }
      const id = randomUUID();
      const inserted = await trx
        .insertInto('credentials')
        .values({
          id,
          tenantId: owner.tenantId,
          ownerKind: owner.kind,
          ownerId: owner.id,
          provider,
          purpose,
          ...seal(id),
          fields,
          configuredAt: now,
          updatedAt: now,
        })
        .onConflict((oc) => oc.columns(['ownerKind', 'ownerId', 'provider', 'purpose']).doNothing())
        .returning(METADATA_COLUMNS)
        .executeTakeFirst();
      if (inserted) return inserted;
    }
    throw new Error('Could not store the credential: the slot kept changing');
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

async function assertOwnerExists(db: Kysely<Schema>, owner: CredentialOwner): Promise<void> {
  if (owner.kind === 'operator') return;
  const tenantId = owner.tenantId;
  if (tenantId === null) throw new CredentialOwnerError(owner.kind);
  const table = owner.kind === 'tenant' ? 'tenants' : owner.kind === 'group' ? 'groups' : 'users';
  const query =
    table === 'tenants'
      ? db.selectFrom('tenants').select('id').where('id', '=', tenantId)
      : db.selectFrom(table).select('id').where('id', '=', owner.id).where('tenantId', '=', tenantId);
  if (!(await query.executeTakeFirst())) throw new CredentialOwnerError(owner.kind);
}

/** Credential metadata, never ciphertext, for listings. */
export async function listCredentials(
  db: Kysely<Schema>,
  filter: { tenantId: string | null; ownerKind?: OwnerKind; ownerId?: string; provider?: string },
): Promise<CredentialMetadata[]> {
  let query = db.selectFrom('credentials').select(METADATA_COLUMNS);
  query =
    filter.tenantId === null
      ? query.where('tenantId', 'is', null)
      : query.where('tenantId', '=', filter.tenantId);
  if (filter.ownerKind) query = query.where('ownerKind', '=', filter.ownerKind);
  if (filter.ownerId) query = query.where('ownerId', '=', filter.ownerId);
  if (filter.provider) query = query.where('provider', '=', filter.provider);
  return query.orderBy('provider').orderBy('ownerKind').orderBy('purpose').orderBy('id').execute();
}

export async function getCredentialMetadata(
  db: Kysely<Schema>,
  id: string,
): Promise<CredentialMetadata | undefined> {
  return db.selectFrom('credentials').select(METADATA_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** The whole row, ciphertext included, for the vault to open at call time. */
export async function getCredentialRow(db: Kysely<Schema>, id: string): Promise<CredentialRow | undefined> {
  const row = await db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
  return row && normaliseBytes(row);
}

export async function setCredentialStatus(
  db: Kysely<Schema>,
  id: string,
  status: CredentialStatus,
  validatedAt?: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({ status, updatedAt: new Date(), ...(validatedAt ? { validatedAt } : {}) })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Stores the outcome of a key check, but only if the row is still the one that was checked: same
 * status and same ciphertext. A key replaced, revoked or re-checked meanwhile is left alone (false),
 * so a check of the old key can never mark a new one invalid nor bring a revoked one back.
 */
export async function recordCheckedStatus(
  db: Kysely<Schema>,
  id: string,
  checked: { status: CredentialStatus; ciphertext: Uint8Array },
  next: { status: CredentialStatus; validatedAt?: Date },
): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({
      status: next.status,
      ...(next.validatedAt ? { validatedAt: next.validatedAt } : {}),
      ...(next.status !== checked.status ? { updatedAt: new Date() } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', checked.status)
    .where('ciphertext', '=', checked.ciphertext)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function touchCredential(db: Kysely<Schema>, id: string, at: Date = new Date()): Promise<void> {
  await db.updateTable('credentials').set({ lastUsedAt: at }).where('id', '=', id).execute();
}

export async function deleteCredential(db: Kysely<Schema>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('credentials').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export interface ResolutionQuery {
  tenantId: string;
  userId?: string;
  /** Groups the caller belongs to; only those where the user may use credentials count. */
  groupIds: readonly string[];
  provider: string;
  operation: 'chat' | 'embedding';
}

/**
 * The stored credentials that could serve this call, in the gateway's chain order: the user's
 * own, then each group's (oldest membership first), then the tenant's; within one owner a
 * credential for exactly this operation before an `any` one. Every status is returned — an
 * invalid or revoked credential is an error for the caller, never a reason to fall through.
 */
export async function findForResolution(
  db: Kysely<Schema>,
  query: ResolutionQuery,
): Promise<ResolutionCandidate[]> {
  const { tenantId, userId, provider, operation } = query;
  const groups =
    userId && query.groupIds.length > 0 ? await usableGroups(db, tenantId, userId, query.groupIds) : [];
  const owners = [tenantId, ...(userId ? [userId] : []), ...groups];
  const rows = await db
    .selectFrom('credentials')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .where('ownerId', 'in', owners)
    .where('provider', '=', provider)
    .where('purpose', 'in', ['any', operation])
    .execute();
  const rank = (row: CredentialRow): number => {
    const owner =
      row.ownerKind === 'user'
        ? 0
        : row.ownerKind === 'group'
          ? 1 + groups.indexOf(row.ownerId)
          : 1 + groups.length;
    return owner * 2 + (row.purpose === operation ? 0 : 1);
  };
  return rows
    .filter((row) => row.ownerKind !== 'user' || row.ownerId === userId)
    .filter((row) => row.ownerKind !== 'group' || groups.includes(row.ownerId))
    .filter((row) => row.ownerKind !== 'tenant' || row.ownerId === tenantId)
    .sort((a, b) => rank(a) - rank(b))
    .map((row) => ({ ...normaliseBytes(row), link: row.ownerKind as ChainLink }));
}

async function usableGroups(
  db: Kysely<Schema>,
  tenantId: string,
  userId: string,
  groupIds: readonly string[],
): Promise<string[]> {
  const rows = await db
    .selectFrom('groupMemberships')
    .select('groupId')
    .where('tenantId', '=', tenantId)
    .where('userId', '=', userId)
    .where('groupId', 'in', [...groupIds])
    .where('mayUseCredentials', '=', true)
    .orderBy('createdAt')
    .orderBy('groupId')
    .execute();
  return rows.map((r) => r.groupId);
}

/** The operator's global credentials for a provider (the last link; deployment policy decides). */
export async function findOperatorCredentials(
  db: Kysely<Schema>,
  provider: string,
  operation: 'chat' | 'embedding',
): Promise<ResolutionCandidate[]> {
  const rows = await db
    .selectFrom('credentials')
    .selectAll()
    .where('ownerKind', '=', 'operator')
    .where('provider', '=', provider)
    .where('purpose', 'in', ['any', operation])
    .execute();
  return rows
    .sort((a, b) => Number(b.purpose === operation) - Number(a.purpose === operation))
    .map((row) => ({ ...normaliseBytes(row), link: 'operator' as const }));
}

/** pg returns `Buffer`, PGlite a plain `Uint8Array`: callers get a `Buffer` from both. */
function normaliseBytes<T extends { ciphertext: Uint8Array }>(row: T): T {
  const { ciphertext } = row;
  return Buffer.isBuffer(ciphertext)
    ? row
    : { ...row, ciphertext: Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength) };
}

/** Rotation support: ids of credentials not yet sealed under `version`, a batch at a time. */
export async function credentialsNotAtVersion(
  db: Kysely<Schema>,
  version: number,
  limit: number,
  afterId?: string,
): Promise<string[]> {
  let query = db.selectFrom('credentials').select('id').where('keyVersion', '<>', version);
  if (afterId) query = query.where('id', '>', afterId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

export async function countCredentialsAtVersion(db: Kysely<Schema>, version: number): Promise<number> {
  const row = await db
    .selectFrom('credentials')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('keyVersion', '=', version)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Compare-and-set of the sealed secret: replaces it only if the row still holds `expected`.
 * False when a concurrent writer changed it first (the caller re-reads and tries again).
 */
export async function replaceSealedSecret(
  db: Kysely<Schema>,
  id: string,
  expected: Uint8Array,
  sealed: SealedSecret,
): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({ ciphertext: sealed.ciphertext, keyVersion: sealed.keyVersion })
    .where('id', '=', id)
    .where('ciphertext', '=', expected)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
