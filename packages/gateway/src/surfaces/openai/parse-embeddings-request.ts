import type { EmbedInput } from '@keyhold/core';
import type { ParseResult } from './parse-chat-request.js';

export interface ParsedEmbeddingsRequest {
  model?: string;
  encodingFormat: 'float' | 'base64';
  input: EmbedInput & { input: string[] };
}

const MAX_INPUTS = 2048;

/**
 * Parses an OpenAI Embeddings request (https://platform.openai.com/docs/api-reference/embeddings).
 * Token-array inputs are refused: providers other than OpenAI cannot take them.
 */
export function parseEmbeddingsRequest(body: unknown): ParseResult<ParsedEmbeddingsRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'The request body must be a JSON object' };
  }
  const b = body as Record<string, unknown>;
  if (b.model !== undefined && typeof b.model !== 'string') {
    return { ok: false, message: '"model" must be a string', param: 'model' };
  }
  const raw = b.input;
  const input = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(input) || input.length === 0) {
    return { ok: false, message: '"input" must be a string or a non-empty array of strings', param: 'input' };
  }
  if (!input.every((s) => typeof s === 'string')) {
    return { ok: false, message: 'Token arrays are not supported: send "input" as text', param: 'input' };
  }
  if (input.length > MAX_INPUTS) {
    return { ok: false, message: `At most ${MAX_INPUTS} inputs per request`, param: 'input' };
  }
  const format = b.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return { ok: false, message: '"encoding_format" must be float or base64', param: 'encoding_format' };
  }
  const dimensions = b.dimensions;
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || (dimensions as number) < 1)) {
    return { ok: false, message: '"dimensions" must be a positive integer', param: 'dimensions' };
  }
  if (b.user !== undefined && typeof b.user !== 'string') {
    return { ok: false, message: '"user" must be a string', param: 'user' };
  }
  const embed = {
    input: input as string[],
    ...(dimensions !== undefined ? { dimensions: dimensions as number } : {}),
    ...(b.user !== undefined ? { user: b.user as string } : {}),
  };
  // Two literals, not one that starts with a conditional spread (test/hot-path-literals.test.ts).
  return {
    ok: true,
    value:
      b.model !== undefined
        ? { model: b.model as string, encodingFormat: format, input: embed }
        : { encodingFormat: format, input: embed },
  };
}
