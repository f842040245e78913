import { getTenant, updateTenant } from '../store/tenants.js';
import { notFound } from './admin-error.js';
import { ADMINS, type AnyRouteSpec, defineRoute } from './route-spec.js';
import { inScope } from './scope.js';
import {
  applySettings,
  type StoredSettings,
  TenantAdminSettingsInput,
  TenantSettingsView,
  toSettingsView,
} from './tenant-settings.js';

/** Tenant admin: the tenant's own settings, within the operator's caps. */
export function settingsRoutes(): AnyRouteSpec[] {
  const common = { tag: 'Settings', roles: ADMINS, tenantScoped: true } as const;
  return [
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/settings',
      operationId: 'getSettings',
      summary: "Read the tenant's settings, the operator's caps included",
      status: 200,
      response: TenantSettingsView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const tenant = await getTenant(trx, ctx.tenantId);
          if (!tenant) throw notFound('tenant');
          return toSettingsView(tenant.settings as StoredSettings);
        }),
    }),
    defineRoute({
      ...common,
      method: 'PATCH',
      path: '/api/v1/settings',
      operationId: 'updateSettings',
      summary: 'Change the default model and parameters, fallbacks and mandatory-BYO operations',
      description:
        'Only the fields below; the operator-controlled ones (allowed models, budget, caps, key header, ' +
        "operator fallback) are unknown fields here. Values must stay within the operator's caps.",
      body: TenantAdminSettingsInput,
      status: 200,
      response: TenantSettingsView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const tenant = await getTenant(trx, ctx.tenantId);
          if (!tenant) throw notFound('tenant');
          const settings = applySettings(tenant.settings as StoredSettings, ctx.body);
          const updated = await updateTenant(trx, tenant.id, { settings });
          if (!updated) throw notFound('tenant');
          await ctx.record(
            trx,
            { action: 'settings.update', targetId: tenant.id, details: { fields: Object.keys(ctx.body) } },
            { kind: 'tenant', tenantId: tenant.id },
          );
          return toSettingsView(updated.settings as StoredSettings);
        }),
    }),
  ];
}
