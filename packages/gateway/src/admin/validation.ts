import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { AdminError } from './admin-error.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Fastify's own ajv removes unknown properties silently (`removeAdditional: true`). The admin API
 * must refuse them instead — a `tenant_id` in a body or a `role` on a self-update is an attempt
 * to move an object or raise a role — so bodies are checked by an ajv that keeps them and reports
 * them. Query strings and path parameters are coerced (`?limit=10` is a number).
 */
const bodies = addFormats(
  new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: false, strict: false }),
);
const parameters = addFormats(
  new Ajv({
    allErrors: false,
    removeAdditional: false,
    coerceTypes: 'array',
    useDefaults: true,
    strict: false,
  }),
);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodies : parameters).compile(schema as object);

/**
 * Turns a Fastify validation failure into the admin error: the field is named (`settings.default_model`,
 * `tenant_id`); a malformed path id is simply not found (so a foreign id and a garbage id look alike).
 */
export function validationProblem(errors: readonly ErrorObject[], context: string | undefined): AdminError {
  if (context === 'params') return new AdminError(404, 'not_found', 'No such object');
  const first = errors[0];
  if (!first) return new AdminError(400, 'invalid_request', 'The request is not valid');
  const path = first.instancePath
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (first.keyword === 'additionalProperties') {
    const field = [...path, String(first.params.additionalProperty)].join('.');
    return new AdminError(400, 'unknown_field', `Unknown field "${field}"`, field);
  }
  if (first.keyword === 'required') {
    const field = [...path, String(first.params.missingProperty)].join('.');
    return new AdminError(400, 'invalid_request', `Missing field "${field}"`, field);
  }
  const field = path.length > 0 ? path.join('.') : context === 'body' ? 'body' : (context ?? 'request');
  return new AdminError(400, 'invalid_request', `Field "${field}" ${first.message ?? 'is not valid'}`, field);
}
