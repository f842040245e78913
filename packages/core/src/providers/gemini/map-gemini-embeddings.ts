import { ProviderUnavailableError } from '../../errors.js';
import type { EmbedRequest, EmbedResult } from '../../types/index.js';

export interface GeminiBatchEmbedRequest {
  requests: { model: string; content: { parts: { text: string }[] }; outputDimensionality?: number }[];
}

interface GeminiBatchEmbedResponse {
  embeddings?: { values?: number[] }[];
  usageMetadata?: { promptTokenCount?: number };
}

/**
 * One `batchEmbedContents` body for all inputs; each request names its model as `models/<id>`.
 * https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 */
export function toGeminiEmbedRequest(request: EmbedRequest, model: string): GeminiBatchEmbedRequest {
  return {
    requests: request.input.map((text) => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(request.dimensions !== undefined ? { outputDimensionality: request.dimensions } : {}),
    })),
  };
}

/**
 * `embeddings[].values`, in input order. The Gemini API reports no token count for embeddings
 * (a `usageMetadata.promptTokenCount` is read if one appears), so `inputTokens` is usually 0.
 */
export function fromGeminiEmbedResponse(
  body: unknown,
  context: { provider: string; model: string; count: number },
): EmbedResult {
  const embeddings = (body as GeminiBatchEmbedResponse | null)?.embeddings;
  if (
    !Array.isArray(embeddings) ||
    embeddings.length !== context.count ||
    !embeddings.every((e) => Array.isArray(e?.values))
  ) {
    throw new ProviderUnavailableError(`${context.provider} returned embeddings Keyhold cannot read`, {
      provider: context.provider,
    });
  }
  return {
    model: context.model,
    embeddings: embeddings.map((e) => e.values as number[]),
    usage: { inputTokens: (body as GeminiBatchEmbedResponse).usageMetadata?.promptTokenCount ?? 0 },
  };
}
