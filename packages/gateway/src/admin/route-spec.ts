import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { NewAuditEvent } from '../store/audit-log.js';
import type { Schema } from '../store/schema.js';
import type { AdminChange, AdminDeps } from './admin-deps.js';
import type { Principal, Role } from './principal.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler gets: validated input, the caller, the tenant it acts on, and change recording. */
export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /**
   * The tenant the request acts on (tenant-scoped routes): the path's `tenant_id`, else the
   * caller's own tenant, else (operator) the `X-Keyhold-Tenant` header. Verified to exist and to
   * be the caller's; empty string on routes that are not tenant-scoped.
   */
  tenantId: string;
  deps: AdminDeps;
  request: FastifyRequest;
  /**
   * Appends one audit event and announces the directory changes (`notifyDirectoryChange`), both
   * in `db` — the change's own transaction, so all of it commits or none — and queues them for
   * `onChange` after the commit.
   */
  record(
    db: Kysely<Schema>,
    event: Omit<NewAuditEvent, 'actor' | 'tenantId'> & { tenantId?: string | null },
    changes: AdminChange | readonly AdminChange[],
  ): Promise<void>;
}

/** One admin route: the single source of its validation, its types and its OpenAPI entry. */
export interface RouteSpec<P extends TSchema, Q extends TSchema, B extends TSchema> {
  method: HttpMethod;
  /** OpenAPI-style path, e.g. `/api/v1/tenants/{tenant_id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Who may call it at all; anyone else gets 403 (401 without credentials). */
  roles: readonly Role[];
  /** Acts on one tenant (see `RouteContext.tenantId`). */
  tenantScoped?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The success status and its body schema (none for 204). */
  status: 200 | 201 | 204;
  response?: TSchema;
  /** Media types the route may answer besides JSON (with a {@link RawReply}), e.g. `text/csv`. */
  produces?: readonly string[];
  handler(ctx: RouteContext<Static<P>, Static<Q>, Static<B>>): Promise<unknown>;
}

/**
 * A handler result sent as it is instead of JSON (a CSV export): the route's response schema does
 * not apply to it.
 */
export class RawReply {
  constructor(
    readonly contentType: string,
    readonly body: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

// biome-ignore lint/suspicious/noExplicitAny: a table of routes of different shapes.
export type AnyRouteSpec = RouteSpec<any, any, any>;

/** Declares a route; the generic parameters give the handler the schemas' static types. */
export function defineRoute<
  P extends TSchema = TSchema,
  Q extends TSchema = TSchema,
  B extends TSchema = TSchema,
>(spec: RouteSpec<P, Q, B>): AnyRouteSpec {
  return spec as AnyRouteSpec;
}

export const ALL_ROLES: readonly Role[] = ['operator', 'tenant_admin', 'member'];
export const ADMINS: readonly Role[] = ['operator', 'tenant_admin'];
export const USERS: readonly Role[] = ['tenant_admin', 'member'];
export const OPERATOR: readonly Role[] = ['operator'];
