import { createUndiciTransport } from '@keyhold/core';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import { createEgressAgent } from '../egress/egress-agent.js';
import { appendAuditEvent } from '../store/audit-log.js';
import { notifyDirectoryChange } from '../store/directory-changes.js';
import { getTenant } from '../store/tenants.js';
import type { AdminChange, AdminDeps } from './admin-deps.js';
import { AdminError, forbidden, notFound } from './admin-error.js';
import { alertWebhookRoutes } from './alert-webhook-routes.js';
import { auditRoutes } from './audit-routes.js';
import { authenticateAdmin } from './authenticate-admin.js';
import { credentialRoutes } from './credential-routes.js';
import { egressRoutes } from './egress-routes.js';
import { groupRoutes } from './group-routes.js';
import { buildOpenApiDocument, TENANT_HEADER } from './openapi.js';
import { actorOf, type Principal } from './principal.js';
import { providerRoutes } from './provider-routes.js';
import { type AnyRouteSpec, RawReply, type RouteContext } from './route-spec.js';
import { isUuid } from './schema-helpers.js';
import { settingsRoutes } from './settings-routes.js';
import { tenantRoutes } from './tenant-routes.js';
import { usageRoutes } from './usage-routes.js';
import { userRoutes } from './user-routes.js';
import { validationProblem, validatorCompiler } from './validation.js';
import { virtualKeyRoutes } from './virtual-key-routes.js';

export const ADMIN_API_VERSION = '1.0.0';

/** Every admin route, in the order the OpenAPI document lists them. */
export function adminRoutes(): AnyRouteSpec[] {
  return [
    ...providerRoutes(),
    ...tenantRoutes(),
    ...credentialRoutes(),
    ...settingsRoutes(),
    ...alertWebhookRoutes(),
    ...userRoutes(),
    ...groupRoutes(),
    ...virtualKeyRoutes(),
    ...usageRoutes(),
    ...auditRoutes(),
    ...egressRoutes(),
  ];
}

interface RequestState {
  principal: Principal;
  tenantId: string;
}

/**
 * The admin API as a Fastify plugin: routes under `/api/v1` and the OpenAPI document at
 * `/openapi.json`. Register it without a prefix. Without an operator token it registers nothing,
 * so every admin path is the server's ordinary 404.
 *
 * Order of checks on every route: credentials (401), role (403), tenant scope (another tenant's
 * id in the path or the `X-Keyhold-Tenant` header: 404, like a missing one), then the schema
 * (400 naming the field), then the handler.
 *
 * @example
 * await app.register(createAdminApi({ db, vault, operatorToken: env.KEYHOLD_OPERATOR_TOKEN, ssrf }));
 */
export function createAdminApi(deps: AdminDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const operatorToken = deps.operatorToken;
    if (operatorToken === undefined || operatorToken === '') return;
    let ownedAgent: ReturnType<typeof createEgressAgent> | undefined;
    if (!deps.transport) {
      ownedAgent = createEgressAgent({ policy: deps.ssrf });
      deps = { ...deps, transport: createUndiciTransport({ dispatcher: ownedAgent }) };
    }
    const routes = adminRoutes();
    const openapi = buildOpenApiDocument(routes, ADMIN_API_VERSION);
    const state = new WeakMap<FastifyRequest, RequestState>();
    const log = deps.logger ?? app.log;

    app.setValidatorCompiler(validatorCompiler);
    app.setErrorHandler((error: FastifyError, request, reply) =>
      sendError(reply, toAdminError(error, request)),
    );
    app.addHook('onClose', async () => {
      await ownedAgent?.close();
    });

    app.get('/openapi.json', async () => openapi);

    await app.register(
      async (api) => {
        api.setNotFoundHandler((_request, reply) =>
          sendError(reply, new AdminError(404, 'not_found', 'No such route')),
        );
      },
      { prefix: '/api/v1' },
    );

    for (const route of routes) {
      app.route({
        method: route.method,
        url: route.path.replace(/\{(\w+)\}/g, ':$1'),
        schema: {
          ...(route.params ? { params: route.params } : {}),
          ...(route.query ? { querystring: route.query } : {}),
          ...(route.body ? { body: route.body } : {}),
          ...(route.response ? { response: { [route.status]: route.response } } : {}),
        },
        // Who is calling is settled before the body is even parsed.
        onRequest: async (request) => {
          const principal = await authenticateAdmin(deps.db, operatorToken, request.headers.authorization);
          state.set(request, { principal, tenantId: '' });
        },
        // Role and tenant before the schema: a foreign tenant is a 404 whatever the body says.
        preValidation: async (request) => {
          const current = state.get(request)!;
          if (!route.roles.includes(current.principal.role)) throw forbidden();
          if (route.tenantScoped) current.tenantId = await resolveTenant(request, current.principal);
        },
        handler: async (request, reply) => {
          const { principal, tenantId } = state.get(request)!;
          const changes: AdminChange[] = [];
          const ctx: RouteContext<unknown, unknown, unknown> = {
            params: request.params,
            query: request.query,
            body: request.body,
            principal,
            tenantId,
            deps,
            request,
            async record(db, event, announced) {
              await appendAuditEvent(db, {
                tenantId: event.tenantId === undefined ? tenantId || null : event.tenantId,
                actor: actorOf(principal),
                action: event.action,
                targetId: event.targetId ?? null,
                details: event.details ?? {},
              });
              for (const change of Array.isArray(announced) ? announced : [announced]) {
                // NOTIFY is transactional: the notice goes out only if the write commits.
                await notifyDirectoryChange(db, change);
                changes.push(change);
              }
            },
          };
          const body = await route.handler(ctx);
          for (const change of changes) {
            try {
              await deps.onChange?.(change);
            } catch (error) {
              log.warn({ err: { type: (error as Error)?.name }, change }, 'directory change not announced');
            }
          }
          reply.code(route.status);
          if (body instanceof RawReply)
            return reply.headers(body.headers).type(body.contentType).send(body.body);
          return route.status === 204 ? reply.send() : body;
        },
      });
    }

    /** The tenant a request acts on; another tenant's id, or one that does not exist, is a 404. */
    async function resolveTenant(request: FastifyRequest, principal: Principal): Promise<string> {
      const fromPath = (request.params as Record<string, string | undefined>).tenant_id;
      const header = request.headers[TENANT_HEADER];
      const fromHeader = Array.isArray(header) ? header[0] : header;
      if (principal.role !== 'operator') {
        for (const named of [fromPath, fromHeader]) {
          if (named !== undefined && named.toLowerCase() !== principal.tenantId) throw notFound('tenant');
        }
        return principal.tenantId;
      }
      const named = fromPath ?? fromHeader;
      if (named === undefined) {
        throw new AdminError(
          400,
          'tenant_required',
          `Name the tenant in the ${TENANT_HEADER} header`,
          TENANT_HEADER,
        );
      }
      if (fromPath !== undefined && fromHeader !== undefined && fromHeader !== fromPath)
        throw notFound('tenant');
      if (!isUuid(named) || !(await getTenant(deps.db, named))) throw notFound('tenant');
      return named.toLowerCase();
    }

    function toAdminError(error: FastifyError, request: FastifyRequest): AdminError {
      if (error instanceof AdminError) return error;
      if (error.validation) return validationProblem(error.validation, error.validationContext);
      const dbCode = (error as { code?: unknown }).code;
      if (dbCode === '23505')
        return new AdminError(409, 'conflict', 'An object with that name already exists');
      if (dbCode === '23503') return notFound('object');
      const status = error.statusCode;
      if (status === 413) return new AdminError(413, 'request_too_large', 'The request body is too large');
      if (status === 415)
        return new AdminError(415, 'unsupported_media_type', 'Send the body as application/json');
      if (status !== undefined && status >= 400 && status < 500) {
        // Parser errors: the message is about syntax; a fixed text is enough and echoes nothing.
        return new AdminError(400, 'invalid_json', 'The request body is not valid JSON');
      }
      request.log.error(
        { err: { type: error.name, code: typeof dbCode === 'string' ? dbCode : undefined } },
        'admin API error',
      );
      return new AdminError(500, 'internal_error', 'Internal error');
    }
  };
}

function sendError(reply: FastifyReply, error: AdminError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(error.status).type('application/json').send(error.toBody());
}
