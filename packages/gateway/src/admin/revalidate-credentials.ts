import type { Transport } from '@keyhold/core';
import type { Kysely } from 'kysely';
import type { DirectoryChange } from '../routing/directory.js';
import { appendAuditEvent } from '../store/audit-log.js';
import { recordCheckedStatus } from '../store/credentials.js';
import { notifyDirectoryChange } from '../store/directory-changes.js';
import type { CredentialStatus, OwnerKind, Schema } from '../store/schema.js';
import type { Vault } from '../vault/vault.js';
import { VaultError } from '../vault/vault-error.js';
import { checkProviderKey, defaultValidationModel } from './validate-credential.js';

/** The audit actor of status changes made by a revalidation run. */
export const REVALIDATE_ACTOR = 'system:revalidate';

export interface RevalidateOptions {
  db: Kysely<Schema>;
  vault: Vault;
  /** How checks reach providers: the egress-guarded transport, as `keyhold serve` uses. */
  transport: Transport;
  /** A tenant id (its tenant, group and user credentials), `null` (operator keys only), or every one. */
  tenantId?: string | null;
  provider?: string;
  /** Check, but write nothing. */
  dryRun?: boolean;
  /** Checks in flight at once (default 4): a provider rate-limits a burst of checks as a 429. */
  concurrency?: number;
  /** Per-check timeout (ms, default 10 s). */
  timeoutMs?: number;
  /** Check models per provider, besides the built-in guesses (vLLM and custom servers need one). */
  models?: Readonly<Record<string, string>>;
  /** Told about each credential once checked (progress). */
  onResult?: (result: RevalidationResult) => void;
}

/**
 * - `valid`: the provider accepted the key (status `active`, validated now).
 * - `invalid`: the provider refused it (401 / 403): status `invalid`.
 * - `unchecked`: nothing learnt (timeout, 5xx, 429, unreachable, no model to check with): unchanged.
 * - `superseded`: the key was replaced, revoked or deleted while it was checked: unchanged.
 */
export type RevalidationVerdict = 'valid' | 'invalid' | 'unchecked' | 'superseded';

/** One credential's check. No key material: ids, names, the stored hint and error codes. */
export interface RevalidationResult {
  credentialId: string;
  /** Null for an operator key. */
  tenantId: string | null;
  tenantName: string | null;
  ownerKind: OwnerKind;
  ownerId: string;
  /** The owner for people: `operator`, `tenant`, `group:<name>`, `user:<email>`. */
  ownerLabel: string;
  provider: string;
  purpose: string;
  /** `…abcd`. */
  hint: string;
  before: 'active' | 'invalid';
  verdict: RevalidationVerdict;
  /** The error code behind `invalid` / `unchecked`, e.g. `authentication_error`, `timeout_error`. */
  code?: string;
  /** The status after the run (in a dry run: what it would be). */
  after: CredentialStatus;
}

interface CandidateRow {
  id: string;
  tenantId: string | null;
  ownerKind: OwnerKind;
  ownerId: string;
  provider: string;
  purpose: string;
  hint: string;
  status: CredentialStatus;
  ciphertext: Uint8Array;
  fields: Record<string, string> | null;
  tenantName: string | null;
  userEmail: string | null;
  groupName: string | null;
}

const PAGE = 200;

/**
 * Re-checks stored credentials against their providers (`keyhold credentials revalidate`): every
 * active or invalid credential in scope is decrypted at check time and tried with the cheapest
 * call there is (see `checkProviderKey`). A refusal marks it `invalid`, success makes it `active`
 * with `validated_at` now, anything else leaves it alone. Each status change is written with an
 * audit event and a directory notice in one transaction, so every gateway instance sees it on its
 * next request. Revoked credentials are never checked nor brought back.
 *
 * @example
 * const results = await revalidateCredentials({ db, vault, transport, tenantId, dryRun: true });
 */
export async function revalidateCredentials(options: RevalidateOptions): Promise<RevalidationResult[]> {
  const results: RevalidationResult[] = [];
  const rows = candidates(options);
  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 4) }, async () => {
    // Workers share one generator: each `next()` hands out the next row exactly once.
    for await (const row of rows) {
      const result = await revalidateOne(row, options);
      results.push(result);
      options.onResult?.(result);
    }
  });
  await Promise.all(workers);
  return results;
}

/** The credentials in scope, a page at a time (keyset on id), in system scope. */
async function* candidates(options: RevalidateOptions): AsyncGenerator<CandidateRow> {
  let after: string | undefined;
  for (;;) {
    let query = options.db
      .selectFrom('credentials as c')
      .leftJoin('tenants as t', 't.id', 'c.tenantId')
      .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'c.ownerId').on('c.ownerKind', '=', 'user'))
      .leftJoin('groups as g', (join) => join.onRef('g.id', '=', 'c.ownerId').on('c.ownerKind', '=', 'group'))
      .select([
        'c.id',
        'c.tenantId',
        'c.ownerKind',
        'c.ownerId',
        'c.provider',
        'c.purpose',
        'c.hint',
        'c.status',
        'c.ciphertext',
        'c.fields',
        't.name as tenantName',
        'u.email as userEmail',
        'g.name as groupName',
      ])
      .where('c.status', 'in', ['active', 'invalid']);
    if (options.tenantId === null) query = query.where('c.ownerKind', '=', 'operator');
    else if (options.tenantId !== undefined) query = query.where('c.tenantId', '=', options.tenantId);
    if (options.provider !== undefined) query = query.where('c.provider', '=', options.provider);
    if (after !== undefined) query = query.where('c.id', '>', after);
    const page = await query.orderBy('c.id').limit(PAGE).execute();
    for (const row of page) yield row;
    if (page.length < PAGE) return;
    after = page.at(-1)!.id;
  }
}

async function revalidateOne(row: CandidateRow, options: RevalidateOptions): Promise<RevalidationResult> {
  const before = row.status as 'active' | 'invalid';
  const base = {
    credentialId: row.id,
    tenantId: row.tenantId,
    tenantName: row.tenantName,
    ownerKind: row.ownerKind,
    ownerId: row.ownerId,
    ownerLabel: ownerLabel(row),
    provider: row.provider,
    purpose: row.purpose,
    hint: row.hint,
    before,
  };
  const unchecked = (code: string): RevalidationResult => ({
    ...base,
    verdict: 'unchecked',
    code,
    after: before,
  });

  const fields = row.fields ?? {};
  const model = options.models?.[row.provider] ?? defaultValidationModel(row.provider, fields);
  if (model === undefined) return unchecked('no_validation_model');

  let outcome: Awaited<ReturnType<typeof checkProviderKey>>;
  try {
    // Decrypted for this one call; the credential is dropped when the check returns.
    const credential = options.vault.open({ ...row, fields });
    outcome = await checkProviderKey(
      row.provider,
      { ...credential.fields, ...credential.secrets },
      { model, transport: options.transport, timeoutMs: options.timeoutMs ?? 10_000 },
    );
  } catch (error) {
    return unchecked(error instanceof VaultError ? error.code : 'check_failed');
  }
  if (outcome.result === 'unverified') return unchecked(outcome.code);

  const after: CredentialStatus = outcome.result === 'valid' ? 'active' : 'invalid';
  const result: RevalidationResult = {
    ...base,
    verdict: outcome.result,
    ...(outcome.result === 'invalid' ? { code: outcome.code } : {}),
    after,
  };
  // Still refused: nothing to write (validated_at records the last success only).
  if (options.dryRun || (after === 'invalid' && before === 'invalid')) return result;

  const stored = await options.db.transaction().execute(async (trx) => {
    const written = await recordCheckedStatus(
      trx,
      row.id,
      { status: before, ciphertext: row.ciphertext },
      { status: after, ...(after === 'active' ? { validatedAt: new Date() } : {}) },
    );
    if (!written || after === before) return written;
    await appendAuditEvent(trx, {
      tenantId: row.tenantId,
      actor: REVALIDATE_ACTOR,
      action: 'credential.revalidate',
      targetId: row.id,
      details: {
        provider: row.provider,
        purpose: row.purpose,
        owner_kind: row.ownerKind,
        owner_id: row.ownerId,
        hint: row.hint,
        from: before,
        to: after,
        ...(outcome.result === 'invalid' ? { check: outcome.code } : {}),
      },
    });
    // In the same transaction: the notice goes out only if the change commits.
    await notifyDirectoryChange(trx, changeOf(row.tenantId));
    return true;
  });
  return stored ? result : { ...base, verdict: 'superseded', after: before };
}

function changeOf(tenantId: string | null): DirectoryChange {
  return tenantId === null ? { kind: 'operator-keys' } : { kind: 'credentials', tenantId };
}

function ownerLabel(row: CandidateRow): string {
  switch (row.ownerKind) {
    case 'operator':
      return 'operator';
    case 'tenant':
      return 'tenant';
    case 'group':
      return `group:${row.groupName ?? row.ownerId}`;
    case 'user':
      return `user:${row.userEmail ?? row.ownerId}`;
  }
}
