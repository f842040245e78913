import { getProviderInfo } from '@keyhold/core';
import { type TSchema, Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import {
  type CredentialOwner,
  CredentialOwnerError,
  deleteCredential,
  getCredentialMetadata,
  groupOwner,
  listCredentials,
  operatorOwner,
  setCredentialStatus,
  tenantOwner,
  userOwner,
} from '../store/credentials.js';
import { getGroup } from '../store/groups.js';
import type { Schema } from '../store/schema.js';
import { summarizeCredentialUsage } from '../store/usage-queries.js';
import { storeCredential } from '../vault/store-credential.js';
import type { AdminChange } from './admin-deps.js';
import { badRequest, notFound } from './admin-error.js';
import { checkCredentialInput } from './check-credential-input.js';
import {
  CredentialBody,
  CredentialList,
  CredentialView,
  ProviderParam,
  PurposeQuery,
  SaveQuery,
} from './credential-schemas.js';
import type { Principal, Role } from './principal.js';
import { ADMINS, type AnyRouteSpec, defineRoute, OPERATOR, type RouteContext, USERS } from './route-spec.js';
import { Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';
import { toCredentialView } from './to-credential-view.js';
import { toCredentialUsageView, usageWindowStart } from './to-usage-view.js';
import { type ValidationOutcome, validateCredential, validationModel } from './validate-credential.js';

/** Where a family of credential routes lives and whose credentials it manages. */
interface OwnerRoutes {
  base: string;
  tag: string;
  noun: string;
  roles: readonly Role[];
  tenantScoped: boolean;
  /** Path parameters besides `provider`. */
  params: Record<string, TSchema>;
  /** The owner, after checking it exists in the tenant (404 otherwise). */
  owner(db: Kysely<Schema>, ctx: OwnerContext): Promise<CredentialOwner>;
}

type OwnerContext = { tenantId: string; principal: Principal; params: Record<string, string> };

const OWNERS: Record<'operator' | 'tenant' | 'group' | 'user', OwnerRoutes> = {
  operator: {
    base: '/api/v1/operator-keys',
    tag: 'Operator keys',
    noun: 'operator key',
    roles: OPERATOR,
    tenantScoped: false,
    params: {},
    owner: async () => operatorOwner(),
  },
  tenant: {
    base: '/api/v1/tenants/{tenant_id}/credentials',
    tag: 'Tenant credentials',
    noun: "tenant's credential",
    roles: ADMINS,
    tenantScoped: true,
    params: { tenant_id: Uuid() },
    owner: async (_db, ctx) => tenantOwner(ctx.tenantId),
  },
  group: {
    base: '/api/v1/groups/{group_id}/credentials',
    tag: 'Groups',
    noun: "group's credential",
    roles: ADMINS,
    tenantScoped: true,
    params: { group_id: Uuid() },
    owner: async (db, ctx) => {
      const group = await getGroup(db, ctx.tenantId, ctx.params.group_id ?? '');
      if (!group) throw notFound('group');
      return groupOwner(ctx.tenantId, group.id);
    },
  },
  user: {
    base: '/api/v1/me/credentials',
    tag: 'Me',
    noun: 'own credential',
    roles: USERS,
    tenantScoped: true,
    params: {},
    owner: async (_db, ctx) => {
      if (ctx.principal.role === 'operator') throw notFound('user');
      return userOwner(ctx.tenantId, ctx.principal.userId);
    },
  },
};

/** Set / list / delete credentials of the operator, a tenant, a group and the caller. */
export function credentialRoutes(): AnyRouteSpec[] {
  return Object.entries(OWNERS).flatMap(([kind, owner]) => ownerRoutes(kind, owner));
}

function ownerRoutes(kind: string, o: OwnerRoutes): AnyRouteSpec[] {
  const listParams = Type.Object(o.params);
  const providerParams = Type.Object({ ...o.params, provider: ProviderParam });
  const id = (verb: string) => `${verb}${kind[0]!.toUpperCase()}${kind.slice(1)}Credential`;
  const scopeOf = (ctx: { tenantId: string }) => (o.tenantScoped ? ctx.tenantId : null);
  const ownerCtx = (ctx: RouteContext<Record<string, string>, unknown, unknown>): OwnerContext => ({
    tenantId: ctx.tenantId,
    principal: ctx.principal,
    params: ctx.params,
  });
  const list = async (
    ctx: RouteContext<Record<string, string>, unknown, unknown>,
    provider: string | undefined,
  ) =>
    inScope(ctx.deps.db, scopeOf(ctx), async (trx) => {
      const owner = await o.owner(trx, ownerCtx(ctx));
      const rows = await listCredentials(trx, {
        tenantId: owner.tenantId,
        ownerKind: owner.kind,
        ownerId: owner.id,
        ...(provider ? { provider } : {}),
      });
      const usage = await summarizeCredentialUsage(
        trx,
        rows.map((r) => r.id),
        usageWindowStart(),
      );
      return {
        credentials: rows.map((r) => ({
          ...toCredentialView(r, ctx.deps.vault.keyring.current),
          usage: toCredentialUsageView(usage.get(r.id)),
        })),
      };
    });

  return [
    defineRoute({
      method: 'GET',
      path: o.base,
      operationId: id('list'),
      summary: `List the ${o.noun}s (masked)`,
      tag: o.tag,
      roles: o.roles,
      tenantScoped: o.tenantScoped,
      params: listParams,
      status: 200,
      response: CredentialList,
      handler: (ctx) => list(ctx as never, undefined),
    }),
    defineRoute({
      method: 'GET',
      path: `${o.base}/{provider}`,
      operationId: id('get'),
      summary: `List the ${o.noun}s for one provider (every purpose, masked)`,
      tag: o.tag,
      roles: o.roles,
      tenantScoped: o.tenantScoped,
      params: providerParams,
      status: 200,
      response: CredentialList,
      handler: (ctx) => {
        knownProvider(ctx.params.provider);
        return list(ctx as never, ctx.params.provider);
      },
    }),
    defineRoute({
      method: 'PUT',
      path: `${o.base}/{provider}`,
      operationId: id('set'),
      summary: `Set the ${o.noun} for a provider and purpose (replaces the one in that slot)`,
      description:
        'Required fields come from the provider catalogue; a missing or malformed one is a 400 naming it. ' +
        'Endpoints (`baseURL`, Azure `endpoint`) must pass the egress (SSRF) policy. ' +
        'With `?validate=true` a one-token call checks the key first and the status says what it found.',
      tag: o.tag,
      roles: o.roles,
      tenantScoped: o.tenantScoped,
      params: providerParams,
      query: SaveQuery,
      body: CredentialBody,
      status: 200,
      response: CredentialView,
      handler: async (ctx) => {
        const checked = checkCredentialInput(ctx.params.provider, ctx.body, ctx.deps.ssrf);
        const scope = scopeOf(ctx);
        // The owner is checked before any provider call: a foreign group costs nothing upstream.
        await inScope(ctx.deps.db, scope, (trx) => o.owner(trx, ownerCtx(ctx as never)));
        let outcome: ValidationOutcome | undefined;
        if (ctx.query.validate) {
          outcome = await validateCredential(checked, {
            model: validationModel(checked, ctx.query.model),
            transport: ctx.deps.transport!,
            timeoutMs: ctx.deps.validationTimeoutMs ?? 10_000,
          });
        }
        const stored = await inScope(ctx.deps.db, scope, async (trx) => {
          const owner = await o.owner(trx, ownerCtx(ctx as never));
          const saved = await storeCredential(trx, ctx.deps.vault, {
            owner,
            provider: checked.provider,
            purpose: checked.purpose,
            secrets: checked.secrets,
            fields: checked.fields,
          }).catch((error: unknown) => {
            if (error instanceof CredentialOwnerError) throw notFound(error.ownerKind);
            throw error;
          });
          if (outcome && outcome.result !== 'unverified') {
            await setCredentialStatus(
              trx,
              saved.id,
              outcome.result === 'valid' ? 'active' : 'invalid',
              new Date(),
            );
          }
          const row = (await getCredentialMetadata(trx, saved.id)) ?? saved;
          await ctx.record(
            trx,
            {
              action: 'credential.set',
              targetId: row.id,
              details: {
                provider: row.provider,
                purpose: row.purpose,
                owner_kind: row.ownerKind,
                owner_id: row.ownerId,
                hint: row.hint,
                key_version: row.keyVersion,
                ...(outcome ? { validation: outcome.result } : {}),
              },
            },
            credentialChange(row.tenantId),
          );
          return row;
        });
        return {
          ...toCredentialView(stored, ctx.deps.vault.keyring.current),
          ...(outcome ? { validation: outcome } : {}),
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: `${o.base}/{provider}`,
      operationId: id('delete'),
      summary: `Delete the ${o.noun}s for a provider (one purpose with \`?purpose=\`, else all)`,
      tag: o.tag,
      roles: o.roles,
      tenantScoped: o.tenantScoped,
      params: providerParams,
      query: PurposeQuery,
      status: 204,
      handler: async (ctx) => {
        knownProvider(ctx.params.provider);
        await inScope(ctx.deps.db, scopeOf(ctx), async (trx) => {
          const owner = await o.owner(trx, ownerCtx(ctx as never));
          const rows = (
            await listCredentials(trx, {
              tenantId: owner.tenantId,
              ownerKind: owner.kind,
              ownerId: owner.id,
              provider: ctx.params.provider,
            })
          ).filter((r) => ctx.query.purpose === undefined || r.purpose === ctx.query.purpose);
          if (rows.length === 0) throw notFound('credential');
          for (const row of rows) {
            await deleteCredential(trx, row.id);
            await ctx.record(
              trx,
              {
                action: 'credential.delete',
                targetId: row.id,
                details: {
                  provider: row.provider,
                  purpose: row.purpose,
                  owner_kind: row.ownerKind,
                  owner_id: row.ownerId,
                  hint: row.hint,
                },
              },
              credentialChange(row.tenantId),
            );
          }
        });
        return undefined;
      },
    }),
  ];
}

/** Tenant, group and user credentials are cached per tenant; operator keys on their own. */
function credentialChange(tenantId: string | null): AdminChange {
  return tenantId === null ? { kind: 'operator-keys' } : { kind: 'credentials', tenantId };
}

function knownProvider(provider: string): void {
  if (!getProviderInfo(provider)) {
    throw badRequest('provider', 'Unknown provider: GET /api/v1/providers lists the supported ones');
  }
}
