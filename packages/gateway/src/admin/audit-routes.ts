import { Type } from '@sinclair/typebox';
import { type AuditEvent, listAuditEvents, verifyAuditChain } from '../store/audit-log.js';
import { notFound } from './admin-error.js';
import type { Principal } from './principal.js';
import { ADMINS, type AnyRouteSpec, defineRoute } from './route-spec.js';
import { Nullable, StringEnum, Timestamp, Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';

const AuditEventView = Type.Object(
  {
    id: Uuid(),
    tenant_id: Nullable(Uuid()),
    position: Type.Integer({ description: 'Position in its chain (1, 2, 3 …).' }),
    actor: Type.String({ description: '`operator` or `user:<id>`.' }),
    action: Type.String(),
    target_id: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Ids, provider names and hints only.',
    }),
    created_at: Timestamp(),
    prev_hash: Nullable(Type.String()),
    hash: Type.String(),
  },
  { title: 'AuditEvent' },
);

const TenantQuery = Type.Optional(
  Uuid("Whose chain: a tenant admin's own by default; the operator's own chain when the operator omits it."),
);

/** The chain a request names: a tenant admin only its own (another id answers 404). */
function chainOf(principal: Principal, requested: string | undefined): string | null {
  if (principal.role === 'operator') return requested ?? null;
  if (requested !== undefined && requested !== principal.tenantId) throw notFound('tenant');
  return principal.tenantId;
}

const toView = (e: AuditEvent) => ({
  id: e.id,
  tenant_id: e.tenantId,
  position: e.position,
  actor: e.actor,
  action: e.action,
  target_id: e.targetId,
  details: e.details,
  created_at: e.createdAt.toISOString(),
  prev_hash: e.prevHash,
  hash: e.hash,
});

/** The audit log, per tenant (the operator: any chain, its own by default), and its verification. */
export function auditRoutes(): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit',
      operationId: 'listAuditEvents',
      summary: 'Audit events of one chain, newest first',
      tag: 'Audit',
      roles: ADMINS,
      query: Type.Object({
        tenant_id: TenantQuery,
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only events before this position.' })),
      }),
      status: 200,
      response: Type.Object({ events: Type.Array(AuditEventView) }),
      handler: async (ctx) => {
        const chain = chainOf(ctx.principal, ctx.query.tenant_id);
        const events = await inScope(ctx.deps.db, ctx.principal.role === 'operator' ? null : chain, (trx) =>
          listAuditEvents(trx, chain, {
            limit: ctx.query.limit ?? 100,
            ...(ctx.query.before !== undefined ? { beforePosition: ctx.query.before } : {}),
          }),
        );
        return { events: events.map(toView) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit/verify',
      operationId: 'verifyAuditChain',
      summary: 'Recompute a chain (the operator without `tenant_id`: every chain) and report the first break',
      tag: 'Audit',
      roles: ADMINS,
      query: Type.Object({ tenant_id: TenantQuery }),
      status: 200,
      response: Type.Object(
        {
          ok: Type.Boolean(),
          events: Type.Integer({ description: 'Events checked.' }),
          heads: Type.Optional(
            Type.Array(
              Type.Object({ tenant_id: Nullable(Uuid()), position: Type.Integer(), hash: Type.String() }),
              { description: 'The last event of each chain: keep them elsewhere to detect a truncated log.' },
            ),
          ),
          broken: Type.Optional(
            Type.Object({
              tenant_id: Nullable(Uuid()),
              position: Type.Integer(),
              problem: StringEnum(['hash_mismatch', 'broken_link', 'missing_event'] as const),
            }),
          ),
        },
        { title: 'AuditVerification' },
      ),
      handler: async (ctx) => {
        const operator = ctx.principal.role === 'operator';
        const chain = chainOf(ctx.principal, ctx.query.tenant_id);
        const result = await inScope(ctx.deps.db, operator ? null : chain, (trx) =>
          verifyAuditChain(trx, operator && ctx.query.tenant_id === undefined ? undefined : chain),
        );
        return result.ok
          ? {
              ok: true,
              events: result.events,
              heads: result.heads.map((h) => ({ tenant_id: h.tenantId, position: h.position, hash: h.hash })),
            }
          : {
              ok: false,
              events: result.events,
              broken: { tenant_id: result.tenantId, position: result.position, problem: result.problem },
            };
      },
    }),
  ];
}
