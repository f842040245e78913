import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsrfPolicy } from '../egress/ssrf-policy.js';
import { createKeyring } from '../vault/keyring.js';
import { createVault } from '../vault/vault.js';
import { adminRoutes, createAdminApi } from './admin-api.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, inspected field by field.
type Json = Record<string, any>;

describe('GET /openapi.json', () => {
  const app = Fastify();
  let doc: Json;
  beforeAll(async () => {
    await app.register(
      createAdminApi({
        // The document is served without touching the database.
        db: undefined as never,
        vault: createVault({ keyring: createKeyring([{ version: 1, key: Buffer.alloc(32, 1) }]) }),
        operatorToken: 'op-token-for-openapi-test',
        ssrf: createSsrfPolicy(),
      }),
    );
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    doc = JSON.parse(response.body);
  });
  afterAll(() => app.close());

  it('is an OpenAPI 3.1 document with a bearer security scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(
      Object.keys(doc).filter(
        (k) => !['openapi', 'info', 'servers', 'security', 'paths', 'components'].includes(k),
      ),
    ).toEqual([]);
  });

  it('lists every route with its method, parameters, request body and responses', () => {
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThan(40);
    const operationIds = new Set<string>();
    for (const route of routes) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operationIds.has(operation.operationId)).toBe(false);
      operationIds.add(operation.operationId);
      // Every `{name}` of the path is a declared, required path parameter, and nothing else is.
      const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (operation.parameters ?? []).filter((p: Json) => p.in === 'path');
      expect(declared.map((p: Json) => p.name).sort()).toEqual(inPath);
      expect(declared.every((p: Json) => p.required === true)).toBe(true);
      if (route.body) {
        const schema = operation.requestBody.content['application/json'].schema;
        expect(schema).toEqual(JSON.parse(JSON.stringify(route.body)));
        expect(schema.additionalProperties).toBe(false);
      } else {
        expect(operation.requestBody).toBeUndefined();
      }
      const success = operation.responses[String(route.status)];
      expect(success).toBeDefined();
      if (route.response) {
        expect(success.content['application/json'].schema).toEqual(
          JSON.parse(JSON.stringify(route.response)),
        );
      }
      for (const status of ['400', '401', '403', '404']) {
        expect(operation.responses[status].content['application/json'].schema).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
    }
    const served = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods as Json).map((m) => `${m} ${path}`),
    );
    expect(served.sort()).toEqual(routes.map((r) => `${r.method.toLowerCase()} ${r.path}`).sort());
  });

  it('names the routes the brief requires', () => {
    for (const [method, path] of [
      ['post', '/api/v1/tenants'],
      ['post', '/api/v1/tenants/{tenant_id}/suspend'],
      ['put', '/api/v1/tenants/{tenant_id}/credentials/{provider}'],
      ['get', '/api/v1/tenants/{tenant_id}/credentials/{provider}'],
      ['delete', '/api/v1/tenants/{tenant_id}/credentials/{provider}'],
      ['put', '/api/v1/operator-keys/{provider}'],
      ['get', '/api/v1/egress/allow-list'],
      ['put', '/api/v1/egress/allow-list'],
      ['get', '/api/v1/providers'],
      ['put', '/api/v1/me/credentials/{provider}'],
      ['post', '/api/v1/virtual-keys'],
      ['get', '/api/v1/audit'],
      ['get', '/api/v1/audit/verify'],
    ]) {
      expect(doc.paths[path!]?.[method!], `${method} ${path}`).toBeDefined();
    }
  });

  it('every schema in it is valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1) and every $ref resolves', () => {
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    const schemas: Json[] = [];
    const refs: string[] = [];
    const walk = (value: unknown, key?: string) => {
      if (Array.isArray(value)) {
        for (const v of value) walk(v);
      } else if (value && typeof value === 'object') {
        if (key === 'schema') schemas.push(value as Json);
        for (const [k, v] of Object.entries(value)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          walk(v, k);
        }
      }
    };
    walk(doc.paths);
    schemas.push(doc.components.schemas.Error);
    expect(schemas.length).toBeGreaterThan(100);
    for (const schema of schemas) {
      if ('$ref' in schema) continue;
      expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
      expect(() => ajv.compile(schema)).not.toThrow();
    }
    for (const ref of refs) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
      expect(target, ref).toBeDefined();
    }
  });

  it('documents the tenant header and marks secret credential fields write-only', () => {
    const users = doc.paths['/api/v1/users'].get;
    expect(users.parameters).toContainEqual(
      expect.objectContaining({ name: 'x-keyhold-tenant', in: 'header' }),
    );
    const credential =
      doc.paths['/api/v1/tenants/{tenant_id}/credentials/{provider}'].put.requestBody.content[
        'application/json'
      ].schema;
    expect(credential.properties.apiKey.writeOnly).toBe(true);
    expect(credential.properties.secretAccessKey.writeOnly).toBe(true);
    expect(credential.properties.endpoint.writeOnly).toBeUndefined();
    const listing =
      doc.paths['/api/v1/tenants/{tenant_id}/credentials'].get.responses['200'].content['application/json']
        .schema;
    const view = listing.properties.credentials.items;
    expect(view.properties.masked_key).toBeDefined();
    expect(Object.keys(view.properties)).not.toContain('apiKey');
    expect(Object.keys(view.properties)).not.toContain('ciphertext');
  });
});
