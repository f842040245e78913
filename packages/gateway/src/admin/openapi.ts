import type { TSchema } from '@sinclair/typebox';
import { ErrorBody } from './admin-error.js';
import type { AnyRouteSpec } from './route-spec.js';

export const TENANT_HEADER = 'x-keyhold-tenant';

type Json = Record<string, unknown>;

/** A schema as plain JSON (TypeBox marks optional properties with symbols, which JSON drops). */
const plain = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema)) as Json;

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/**
 * The OpenAPI 3.1 document, built from the same route table (and so the same schemas) that
 * Fastify validates with: a route cannot be served without being described.
 */
export function buildOpenApiDocument(routes: readonly AnyRouteSpec[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const parameters: Json[] = [];
    const add = (where: 'path' | 'query', schema: TSchema | undefined) => {
      if (!schema) return;
      const s = plain(schema) as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, property] of Object.entries(s.properties ?? {})) {
        const { description, ...rest } = property as { description?: string };
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (s.required ?? []).includes(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    };
    add('path', route.params);
    add('query', route.query);
    if (route.tenantScoped && !route.path.includes('{tenant_id}')) {
      parameters.push({
        name: TENANT_HEADER,
        in: 'header',
        required: false,
        description:
          'The tenant to act on. Required for the operator; a tenant user may omit it (its own tenant) — ' +
          'another tenant answers 404.',
        schema: { type: 'string', format: 'uuid' },
      });
    }
    const success =
      route.status === 204
        ? { description: 'Done' }
        : {
            description: 'OK',
            content: {
              'application/json': { schema: route.response ? plain(route.response) : {} },
              ...Object.fromEntries(
                (route.produces ?? []).map((type) => [type, { schema: { type: 'string' } }]),
              ),
            },
          };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      'x-keyhold-roles': [...route.roles],
      security: [{ bearer: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } }
        : {}),
      responses: {
        [String(route.status)]: success,
        '400': errorResponse('Invalid request: `error.field` names the field'),
        '401': errorResponse('No or invalid credentials'),
        '403': errorResponse('The caller’s role may not do this'),
        '404': errorResponse('No such object — or one of another tenant, which looks the same'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keyhold admin API',
      version,
      description:
        'Tenants, users, groups, credentials (masked), virtual keys, settings, the egress allow-list and the ' +
        'audit log of a Keyhold gateway. Roles: operator (bootstrap token), tenant admin and member (virtual keys).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The operator token, or the virtual key (`kh_…`) of a tenant admin or member.',
        },
      },
      schemas: { Error: plain(ErrorBody) },
    },
  };
}
