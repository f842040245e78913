import type { JsonSchema } from '../../types/index.js';

/**
 * Keywords that describe the schema document rather than the data. Zod, Pydantic and
 * `zod-to-json-schema` emit them at the root; they add nothing for the model.
 */
const DOCUMENT_KEYWORDS = new Set(['$schema', '$id', '$comment']);

/**
 * Prepares a JSON Schema for Gemini's JSON-Schema fields: `FunctionDeclaration.parametersJsonSchema`
 * and `GenerationConfig.responseJsonSchema`.
 *
 * Why those fields and not `parameters` / `responseSchema`: the older fields take Google's
 * `Schema` object, an OpenAPI 3.0 subset parsed as protobuf, so any keyword it lacks
 * (`additionalProperties`, `$ref`/`$defs`, `type: ["string","null"]`, `const`…) fails the whole
 * request with 400 "Unknown name … Cannot find field", and converting to it is lossy. The
 * `*JsonSchema` fields accept standard JSON Schema (Google's own reference example uses
 * `additionalProperties: false`; gemini-cli sends MCP tool schemas through them unchanged), are
 * mutually exclusive with the old ones, and work on every current Gemini API model.
 * https://ai.google.dev/api/caching#FunctionDeclaration
 * https://ai.google.dev/api/generate-content#generationconfig
 *
 * So the schema passes through as written, minus the root document keywords. Nested schemas are
 * not rewritten: below the root, keys such as `properties.$id` are the caller's property names.
 */
export function toGeminiSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!DOCUMENT_KEYWORDS.has(key)) out[key] = value;
  }
  return out;
}
