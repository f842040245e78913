import type { EmbedResult } from '@keyhold/core';

/**
 * An OpenAI embeddings list. With `encoding_format: 'base64'` (what the official SDK asks for by
 * default, decoding it itself) each vector is its little-endian float32 bytes in base64.
 */
export function toEmbeddingsResponse(
  result: EmbedResult,
  model: string,
  format: 'float' | 'base64',
): Record<string, unknown> {
  return {
    object: 'list',
    data: result.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: format === 'base64' ? toBase64Float32(vector) : vector,
    })),
    model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  };
}

function toBase64Float32(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4);
  return bytes.toString('base64');
}
