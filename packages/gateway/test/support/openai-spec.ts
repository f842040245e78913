import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Validates response bodies against OpenAI's official schemas, for tests of the gateway's
 * OpenAI-compatible surface. The schemas come from `openai-schemas.json` beside this file,
 * extracted from openai/openai-openapi (MIT) by `scripts/extract-openai-schemas.mjs`; its
 * `source` field records the commit.
 */

/** The OpenAI schemas a test can check a body against. */
export type OpenAISchemaName =
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'CreateEmbeddingResponse'
  | 'ListModelsResponse'
  | 'ErrorResponse';

export interface ValidateOpenAIOptions {
  /**
   * How `CreateEmbeddingResponse` vectors are encoded. OpenAI's schema types
   * `Embedding.embedding` as `number[]` only, but with `encoding_format: "base64"` (what the
   * official `openai` SDK asks for by default) the wire carries a base64 string of little-endian
   * float32 values, which the schema does not describe. With `'base64'`, `embedding` must be such
   * a string instead: valid base64 whose decoded length is a non-zero multiple of 4 bytes.
   * Default `'float'`: the schema as published.
   */
  embeddingEncoding?: 'float' | 'base64';
}

interface SchemaFile {
  source: { repository: string; commit: string; licence: string };
  schema: { $id: string; $defs: Record<string, Record<string, unknown>> };
}

const file = JSON.parse(
  readFileSync(new URL('./openai-schemas.json', import.meta.url), 'utf8'),
) as SchemaFile;

/** Where the schemas came from (repository, commit, licence). */
export const openAISchemaSource = file.source;

// ajv-formats is CommonJS; its default export arrives as `.default` under NodeNext.
const addFormats = addFormatsModule.default;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI formats that JSON Schema does not define (see the spec README).
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('binary', { type: 'string', validate: () => true });
  ajv.addFormat('keyhold-float32-base64', {
    type: 'string',
    validate: (s: string) => s.length > 0 && BASE64.test(s) && Buffer.from(s, 'base64').length % 4 === 0,
  });
  return ajv;
}

/** The schema file with `Embedding.embedding` swapped for the base64 string form. */
function withBase64Embeddings(schema: SchemaFile['schema']): SchemaFile['schema'] {
  const embedding = schema.$defs.Embedding;
  if (!embedding) throw new Error('openai-schemas.json has no Embedding schema.');
  const properties = embedding.properties as Record<string, unknown>;
  return {
    ...schema,
    $defs: {
      ...schema.$defs,
      Embedding: {
        ...embedding,
        properties: {
          ...properties,
          embedding: {
            description:
              'Keyhold: with encoding_format "base64", the vector as base64 of little-endian float32.',
            type: 'string',
            format: 'keyhold-float32-base64',
          },
        },
      },
    },
  };
}

/** One ajv instance per embedding encoding, holding the whole schema file; compiled lazily. */
const instances = new Map<'float' | 'base64', Ajv2020>();

function validatorFor(name: OpenAISchemaName, encoding: 'float' | 'base64'): ValidateFunction {
  let ajv = instances.get(encoding);
  if (!ajv) {
    ajv = createAjv();
    ajv.addSchema(encoding === 'base64' ? withBase64Embeddings(file.schema) : file.schema);
    instances.set(encoding, ajv);
  }
  const validate = ajv.getSchema(`${file.schema.$id}#/$defs/${name}`);
  if (!validate) throw new Error(`openai-schemas.json has no ${name} schema.`);
  return validate;
}

/**
 * Checks `value` against one of OpenAI's response schemas. Returns `[]` when it is valid,
 * otherwise one readable line per ajv error (`/choices/0/message must have required property
 * 'refusal'`). Response schemas do not forbid extra properties, so gateway additions pass.
 *
 * @example
 * expect(validateOpenAI('CreateChatCompletionResponse', await res.json())).toEqual([]);
 * expect(validateOpenAI('CreateEmbeddingResponse', body, { embeddingEncoding: 'base64' })).toEqual([]);
 */
export function validateOpenAI(
  schemaName: OpenAISchemaName,
  value: unknown,
  options: ValidateOpenAIOptions = {},
): string[] {
  const validate = validatorFor(schemaName, options.embeddingEncoding ?? 'float');
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === '' ? '(root)' : error.instancePath;
  const extra =
    error.keyword === 'enum'
      ? ` (${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)})`
      : error.keyword === 'additionalProperties'
        ? ` (${String((error.params as { additionalProperty: string }).additionalProperty)})`
        : '';
  return `${at} ${error.message ?? error.keyword}${extra} [${error.schemaPath}]`;
}
