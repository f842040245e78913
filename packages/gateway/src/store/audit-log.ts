import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { AuditEventRow, Schema } from './schema.js';

/**
 * The audit log: append-only (no update or delete here, and a trigger refuses them in the
 * database) and tamper-evident. Each tenant has its own chain, the operator another (tenant
 * null). Event n stores the hash of event n-1 and its own hash:
 *
 *   hash = sha256(prev_hash || canonical JSON of {tenantId, position, actor, action, targetId,
 *                                                 details, createdAt})
 *
 * (`prev_hash` as hex, empty for the first event; canonical JSON sorts object keys.) Editing an
 * event breaks its own hash; deleting one leaves a gap in the positions and a broken link.
 * Removing the newest events is only visible against a head kept elsewhere — `verifyAuditChain`
 * returns each chain's head for that.
 *
 * Details carry hints only (`…abcd`), never a key: callers pass ids, provider names and hints.
 */

export interface AuditEvent {
  id: string;
  tenantId: string | null;
  position: number;
  actor: string;
  action: string;
  targetId: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
  prevHash: string | null;
  hash: string;
}

export interface NewAuditEvent {
  /** Null for operator events. */
  tenantId: string | null;
  /** Who did it, e.g. `operator`, `user:<id>`, `key:<id>`. */
  actor: string;
  /** What was done, e.g. `credential.set`, `virtual_key.revoke`. */
  action: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Appends an event to its tenant's chain. Appends to one chain are serialised by a transaction
 * advisory lock so two writers cannot both link to the same predecessor.
 */
export async function appendAuditEvent(db: Kysely<Schema>, input: NewAuditEvent): Promise<AuditEvent> {
  const run = async (trx: Kysely<Schema>): Promise<AuditEvent> => {
    const chain = `keyhold.audit:${input.tenantId ?? 'operator'}`;
    await sql`select pg_advisory_xact_lock(hashtextextended(${chain}, 0))`.execute(trx);
    let last = trx.selectFrom('auditEvents').select(['position', 'hash']);
    last =
      input.tenantId === null
        ? last.where('tenantId', 'is', null)
        : last.where('tenantId', '=', input.tenantId);
    const previous = await last.orderBy('position', 'desc').limit(1).executeTakeFirst();
    const event: Omit<AuditEvent, 'id' | 'hash'> = {
      tenantId: input.tenantId,
      position: previous ? Number(previous.position) + 1 : 1,
      actor: input.actor,
      action: input.action,
      targetId: input.targetId ?? null,
      details: input.details ?? {},
      createdAt: new Date(),
      prevHash: previous?.hash ?? null,
    };
    const hash = hashEvent(event);
    const row = await trx
      .insertInto('auditEvents')
      .values({ ...event, details: JSON.stringify(event.details), hash })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEvent(row);
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/** A tenant's events (the operator's when `tenantId` is null), newest first. */
export async function listAuditEvents(
  db: Kysely<Schema>,
  tenantId: string | null,
  page: { limit?: number; beforePosition?: number } = {},
): Promise<AuditEvent[]> {
  let query = db.selectFrom('auditEvents').selectAll();
  query = tenantId === null ? query.where('tenantId', 'is', null) : query.where('tenantId', '=', tenantId);
  if (page.beforePosition !== undefined) query = query.where('position', '<', String(page.beforePosition));
  const rows = await query
    .orderBy('position', 'desc')
    .limit(page.limit ?? 100)
    .execute();
  return rows.map(toEvent);
}

export type AuditChainProblem = 'hash_mismatch' | 'broken_link' | 'missing_event';

export type AuditVerification =
  | { ok: true; events: number; heads: Array<{ tenantId: string | null; position: number; hash: string }> }
  | { ok: false; events: number; tenantId: string | null; position: number; problem: AuditChainProblem };

/**
 * Recomputes the chain of one tenant (`null`: the operator's), or of every chain when
 * `tenantId` is omitted, and reports the first event that does not fit.
 */
export async function verifyAuditChain(
  db: Kysely<Schema>,
  tenantId?: string | null,
): Promise<AuditVerification> {
  const chains =
    tenantId !== undefined
      ? [tenantId]
      : (await db.selectFrom('auditEvents').select('tenantId').distinct().execute()).map((r) => r.tenantId);
  const heads: Array<{ tenantId: string | null; position: number; hash: string }> = [];
  let events = 0;
  for (const chain of chains) {
    let query = db.selectFrom('auditEvents').selectAll();
    query = chain === null ? query.where('tenantId', 'is', null) : query.where('tenantId', '=', chain);
    const rows = (await query.orderBy('position').execute()).map(toEvent);
    let previous: AuditEvent | undefined;
    for (const event of rows) {
      events++;
      const fail = (problem: AuditChainProblem): AuditVerification => ({
        ok: false,
        events,
        tenantId: chain,
        position: event.position,
        problem,
      });
      if (event.position !== (previous?.position ?? 0) + 1) return fail('missing_event');
      if (event.prevHash !== (previous?.hash ?? null)) return fail('broken_link');
      if (hashEvent(event) !== event.hash) return fail('hash_mismatch');
      previous = event;
    }
    if (previous) heads.push({ tenantId: chain, position: previous.position, hash: previous.hash });
  }
  return { ok: true, events, heads };
}

function hashEvent(event: Omit<AuditEvent, 'id' | 'hash'>): string {
  const body = canonicalJson({
    tenantId: event.tenantId,
    position: event.position,
    actor: event.actor,
    action: event.action,
    targetId: event.targetId,
    details: event.details,
    createdAt: event.createdAt.toISOString(),
  });
  return createHash('sha256')
    .update(event.prevHash ?? '')
    .update(body)
    .digest('hex');
}

/** JSON with object keys sorted at every level, so the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function toEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    tenantId: row.tenantId,
    position: Number(row.position),
    actor: row.actor,
    action: row.action,
    targetId: row.targetId,
    details: row.details,
    createdAt: row.createdAt,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
