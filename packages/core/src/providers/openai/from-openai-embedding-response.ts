import { ProviderUnavailableError } from '../../errors.js';
import type { EmbedResult } from '../../types/index.js';
import type { OpenAIEmbeddingWire } from './openai-wire.js';

/**
 * OpenAI Embeddings response → neutral result. `data` is put back in input order by `index`
 * (the API does not promise the order), and a response that does not hold exactly one float
 * vector per input is the provider's fault.
 * https://platform.openai.com/docs/api-reference/embeddings/object
 */
export function fromOpenAIEmbeddingResponse(
  provider: string,
  body: unknown,
  request: { model: string; input: readonly string[] },
): EmbedResult {
  const wire = body as OpenAIEmbeddingWire | undefined;
  const data = wire?.data;
  const broken = () =>
    new ProviderUnavailableError(`${provider} returned an embedding response Keyhold cannot read`, {
      provider,
    });
  if (!Array.isArray(data) || data.length !== request.input.length) throw broken();
  const embeddings: number[][] = new Array(data.length);
  for (const [position, item] of data.entries()) {
    const index = item.index ?? position;
    if (
      !Array.isArray(item.embedding) ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= data.length ||
      embeddings[index] !== undefined
    ) {
      throw broken();
    }
    embeddings[index] = item.embedding as number[];
  }
  return {
    model: wire?.model ?? request.model,
    embeddings,
    usage: { inputTokens: wire?.usage?.prompt_tokens ?? 0 },
  };
}
