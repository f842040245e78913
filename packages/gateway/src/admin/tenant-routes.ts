import { type Static, Type } from '@sinclair/typebox';
import { tenantOwner } from '../store/credentials.js';
import type { TenantStatus } from '../store/schema.js';
import {
  createTenant,
  deleteTenant,
  getTenant,
  listTenants,
  type Tenant,
  updateTenant,
} from '../store/tenants.js';
import { storeCredential } from '../vault/store-credential.js';
import { AdminError, notFound } from './admin-error.js';
import { type CheckedCredential, checkCredentialInput } from './check-credential-input.js';
import { CredentialBody, CredentialView } from './credential-schemas.js';
import { ADMINS, type AnyRouteSpec, defineRoute, OPERATOR, type RouteContext } from './route-spec.js';
import { Strict, StringEnum, Timestamp, Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';
import {
  applySettings,
  OperatorSettingsInput,
  type StoredSettings,
  TenantSettingsView,
  toSettingsView,
} from './tenant-settings.js';
import { toCredentialView } from './to-credential-view.js';

export const TenantView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    status: StringEnum(['active', 'suspended'] as const),
    settings: TenantSettingsView,
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { title: 'Tenant' },
);
type TenantView = Static<typeof TenantView>;

const TenantName = Type.String({ minLength: 1, maxLength: 200 });

const FirstCredential = Strict(
  {
    provider: Type.String({ description: 'A provider id from `GET /api/v1/providers`.' }),
    ...CredentialBody.properties,
  },
  { description: "The tenant's first credential, stored with the tenant in one transaction." },
);

const CreateTenantBody = Strict(
  {
    name: TenantName,
    settings: Type.Optional(OperatorSettingsInput),
    credential: Type.Optional(FirstCredential),
  },
  { title: 'NewTenant' },
);

const UpdateTenantBody = Strict(
  { name: Type.Optional(TenantName), settings: Type.Optional(OperatorSettingsInput) },
  { title: 'TenantUpdate', description: 'Settings fields given replace the stored ones; others stay.' },
);

const TenantParams = Type.Object({ tenant_id: Uuid() });

export function toTenantView(tenant: Tenant): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    settings: toSettingsView(tenant.settings as StoredSettings),
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

/** Operator routes over tenants; a tenant admin may read its own tenant. */
export function tenantRoutes(): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/tenants',
      operationId: 'createTenant',
      summary: 'Create a tenant, optionally with its first credential, default model, parameters and budget',
      tag: 'Tenants',
      roles: OPERATOR,
      body: CreateTenantBody,
      status: 201,
      response: Type.Object({ ...TenantView.properties, credential: Type.Optional(CredentialView) }),
      handler: async (ctx) => {
        const { credential: input, settings, name } = ctx.body;
        let checked: CheckedCredential | undefined;
        if (input) {
          const { provider, ...rest } = input;
          try {
            checked = checkCredentialInput(provider, rest, ctx.deps.ssrf);
          } catch (error) {
            throw prefixField(error, 'credential');
          }
        }
        const stored = settings ? applySettings({}, settings) : {};
        const { tenant, credential } = await ctx.deps.db.transaction().execute(async (trx) => {
          const tenant = await createTenant(trx, { name, settings: stored });
          await ctx.record(
            trx,
            { tenantId: tenant.id, action: 'tenant.create', targetId: tenant.id, details: { name } },
            { kind: 'tenant', tenantId: tenant.id },
          );
          if (!checked) return { tenant, credential: undefined };
          const credential = await storeCredential(trx, ctx.deps.vault, {
            owner: tenantOwner(tenant.id),
            ...checked,
          });
          await ctx.record(
            trx,
            {
              tenantId: tenant.id,
              action: 'credential.set',
              targetId: credential.id,
              details: {
                provider: credential.provider,
                purpose: credential.purpose,
                owner_kind: 'tenant',
                owner_id: tenant.id,
                hint: credential.hint,
                key_version: credential.keyVersion,
              },
            },
            { kind: 'credentials', tenantId: tenant.id },
          );
          return { tenant, credential };
        });
        return {
          ...toTenantView(tenant),
          ...(credential ? { credential: toCredentialView(credential, ctx.deps.vault.keyring.current) } : {}),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/tenants',
      operationId: 'listTenants',
      summary: 'List tenants, a page at a time',
      tag: 'Tenants',
      roles: OPERATOR,
      query: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        after: Type.Optional(Uuid('The last id of the previous page.')),
      }),
      status: 200,
      response: Type.Object({ tenants: Type.Array(TenantView) }),
      handler: async (ctx) => {
        const tenants = await listTenants(ctx.deps.db, {
          limit: ctx.query.limit ?? 100,
          ...(ctx.query.after ? { after: ctx.query.after } : {}),
        });
        return { tenants: tenants.map(toTenantView) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/tenants/{tenant_id}',
      operationId: 'getTenant',
      summary: 'Read a tenant (a tenant admin: its own)',
      tag: 'Tenants',
      roles: ADMINS,
      tenantScoped: true,
      params: TenantParams,
      status: 200,
      response: TenantView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const tenant = await getTenant(trx, ctx.tenantId);
          if (!tenant) throw notFound('tenant');
          return toTenantView(tenant);
        }),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/tenants/{tenant_id}',
      operationId: 'updateTenant',
      summary: 'Rename a tenant or change its settings (every setting, caps included)',
      tag: 'Tenants',
      roles: OPERATOR,
      tenantScoped: true,
      params: TenantParams,
      body: UpdateTenantBody,
      status: 200,
      response: TenantView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const tenant = await getTenant(trx, ctx.tenantId);
          if (!tenant) throw notFound('tenant');
          const settings = ctx.body.settings
            ? applySettings(tenant.settings as StoredSettings, ctx.body.settings)
            : undefined;
          const updated = await updateTenant(trx, tenant.id, {
            ...(ctx.body.name !== undefined ? { name: ctx.body.name } : {}),
            ...(settings ? { settings } : {}),
          });
          if (!updated) throw notFound('tenant');
          await ctx.record(
            trx,
            {
              action: 'tenant.update',
              targetId: tenant.id,
              details: { fields: Object.keys(ctx.body), settings: Object.keys(ctx.body.settings ?? {}) },
            },
            { kind: 'tenant', tenantId: tenant.id },
          );
          return toTenantView(updated);
        }),
    }),
    statusRoute('suspend', 'suspended'),
    statusRoute('activate', 'active'),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/tenants/{tenant_id}',
      operationId: 'deleteTenant',
      summary: 'Delete a tenant with its users, groups, keys and credentials (its audit events stay)',
      tag: 'Tenants',
      roles: OPERATOR,
      tenantScoped: true,
      params: TenantParams,
      status: 204,
      handler: async (ctx) => {
        await ctx.deps.db.transaction().execute(async (trx) => {
          if (!(await deleteTenant(trx, ctx.tenantId))) throw notFound('tenant');
          // The tenant's own chain stays verifiable; its deletion is told in the operator chain.
          await ctx.record(
            trx,
            { tenantId: null, action: 'tenant.delete', targetId: ctx.tenantId },
            { kind: 'all' },
          );
        });
        return undefined;
      },
    }),
  ];
}

function statusRoute(verb: 'suspend' | 'activate', status: TenantStatus): AnyRouteSpec {
  return defineRoute({
    method: 'POST',
    path: `/api/v1/tenants/{tenant_id}/${verb}`,
    operationId: `${verb}Tenant`,
    summary:
      verb === 'suspend'
        ? 'Suspend a tenant: its virtual keys stop working until it is activated'
        : 'Activate a suspended tenant',
    tag: 'Tenants',
    roles: OPERATOR,
    tenantScoped: true,
    params: TenantParams,
    status: 200,
    response: TenantView,
    handler: async (ctx: RouteContext<Static<typeof TenantParams>, unknown, unknown>) =>
      inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
        const updated = await updateTenant(trx, ctx.tenantId, { status });
        if (!updated) throw notFound('tenant');
        await ctx.record(
          trx,
          { action: `tenant.${verb}`, targetId: ctx.tenantId },
          { kind: 'tenant', tenantId: ctx.tenantId },
        );
        return toTenantView(updated);
      }),
  });
}

/** The same refusal, its field named from the body's root (`credential.endpoint`). */
function prefixField(error: unknown, prefix: string): unknown {
  if (!(error instanceof AdminError) || error.field === undefined) return error;
  return new AdminError(error.status, error.code, error.message, `${prefix}.${error.field}`);
}
