import { type Static, Type } from '@sinclair/typebox';
import {
  type AlertWebhookMetadata,
  deleteAlertWebhook,
  getAlertWebhook,
  putAlertWebhook,
  replaceAlertWebhookSecret,
} from '../store/alert-webhooks.js';
import { generateWebhookSecret, sealWebhookSecret } from '../vault/alert-webhook-secret.js';
import { badRequest, notFound } from './admin-error.js';
import { ADMINS, type AnyRouteSpec, defineRoute, type RouteContext } from './route-spec.js';
import { Strict, Timestamp } from './schema-helpers.js';
import { inScope } from './scope.js';

const PATH = '/api/v1/settings/alert-webhook';

const AlertWebhookView = Type.Object(
  {
    url: Type.String({ description: 'Where budget alerts are POSTed.' }),
    masked_secret: Type.String({ description: 'The last characters of the signing secret, e.g. `…abcd`.' }),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { title: 'AlertWebhook' },
);
type AlertWebhookView = Static<typeof AlertWebhookView>;

const AlertWebhookWithSecret = Type.Object(
  {
    ...AlertWebhookView.properties,
    secret: Type.String({
      description:
        'The HMAC signing secret (`whsec_…`). Shown in this response only: it is stored encrypted and ' +
        'never returned again; rotate it to get a new one.',
    }),
  },
  { title: 'AlertWebhookWithSecret' },
);

const AlertWebhookInput = Strict(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'https URL of the receiver. Private, loopback, link-local and metadata addresses, and plain http, ' +
        "are refused unless the operator's egress allow-list permits the host.",
    }),
  },
  { title: 'AlertWebhookInput' },
);

const toView = (row: AlertWebhookMetadata): AlertWebhookView => ({
  url: row.url,
  masked_secret: row.hint,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

/** The host only: a receiver URL may carry a token in its path or query, the audit log gets none. */
const hostOf = (url: string): string => new URL(url).host;

/**
 * The tenant's budget-alert webhook (50 / 80 / 100 % of a budget, and a hard budget's refusals),
 * signed with HMAC-SHA256 by a secret Keyhold generates and shows once. Every change is audited
 * (host and secret hint only) and announced as a tenant change, so every gateway instance
 * signs with the new secret from its next alert on.
 */
export function alertWebhookRoutes(): AnyRouteSpec[] {
  const common = { tag: 'Settings', roles: ADMINS, tenantScoped: true } as const;
  const announce = (ctx: RouteContext<unknown, unknown, unknown>) => ({
    kind: 'tenant' as const,
    tenantId: ctx.tenantId,
  });
  return [
    defineRoute({
      ...common,
      method: 'GET',
      path: PATH,
      operationId: 'getAlertWebhook',
      summary: "Read the tenant's budget-alert webhook (the secret masked)",
      status: 200,
      response: AlertWebhookView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const row = await getAlertWebhook(trx, ctx.tenantId);
          if (!row) throw notFound('alert webhook');
          return toView(row);
        }),
    }),
    defineRoute({
      ...common,
      method: 'PUT',
      path: PATH,
      operationId: 'setAlertWebhook',
      summary: 'Set the budget-alert webhook URL; a new signing secret is generated and shown once',
      description:
        'Replaces any webhook the tenant had, secret included. The URL must pass the egress (SSRF) policy; ' +
        'a refused one is a 400 naming `url`.',
      body: AlertWebhookInput,
      status: 200,
      response: AlertWebhookWithSecret,
      handler: async (ctx) => {
        const verdict = ctx.deps.ssrf.checkUrl(ctx.body.url);
        if (!verdict.ok) throw badRequest('url', `Field "url" is refused: ${verdict.message}`);
        const secret = generateWebhookSecret();
        const sealed = sealWebhookSecret(ctx.deps.vault.keyring, ctx.tenantId, secret);
        const row = await inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const stored = await putAlertWebhook(trx, ctx.tenantId, ctx.body.url, sealed);
          await ctx.record(
            trx,
            {
              action: 'alert_webhook.set',
              targetId: ctx.tenantId,
              details: { host: hostOf(stored.url), hint: stored.hint },
            },
            announce(ctx),
          );
          return stored;
        });
        return { ...toView(row), secret: secret.reveal() };
      },
    }),
    defineRoute({
      ...common,
      method: 'POST',
      path: `${PATH}/rotate-secret`,
      operationId: 'rotateAlertWebhookSecret',
      summary: 'Replace the signing secret; the new one is shown once',
      description: 'Alerts are signed with the new secret from the next delivery on, on every instance.',
      status: 200,
      response: AlertWebhookWithSecret,
      handler: async (ctx) => {
        const secret = generateWebhookSecret();
        const sealed = sealWebhookSecret(ctx.deps.vault.keyring, ctx.tenantId, secret);
        const row = await inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const stored = await replaceAlertWebhookSecret(trx, ctx.tenantId, sealed);
          if (!stored) throw notFound('alert webhook');
          await ctx.record(
            trx,
            { action: 'alert_webhook.rotate_secret', targetId: ctx.tenantId, details: { hint: stored.hint } },
            announce(ctx),
          );
          return stored;
        });
        return { ...toView(row), secret: secret.reveal() };
      },
    }),
    defineRoute({
      ...common,
      method: 'DELETE',
      path: PATH,
      operationId: 'deleteAlertWebhook',
      summary: 'Remove the budget-alert webhook (alerts still go to the audit log)',
      status: 204,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const row = await getAlertWebhook(trx, ctx.tenantId);
          if (!row || !(await deleteAlertWebhook(trx, ctx.tenantId))) throw notFound('alert webhook');
          await ctx.record(
            trx,
            { action: 'alert_webhook.delete', targetId: ctx.tenantId, details: { hint: row.hint } },
            announce(ctx),
          );
        }),
    }),
  ];
}
