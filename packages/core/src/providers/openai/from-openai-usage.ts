import type { Usage } from '../../types/index.js';
import type { OpenAIUsageWire } from './openai-wire.js';

/**
 * OpenAI usage → neutral usage. `prompt_tokens` already includes cached tokens
 * (`prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens`), and
 * `completion_tokens` normally includes reasoning tokens.
 *
 * xAI is the exception: its `completion_tokens` leaves reasoning out and its `total_tokens` adds it
 * (prompt 12 + completion 1 + reasoning 228 = total 241). When the total says so, reasoning is
 * added to the output so that `outputTokens` always includes it.
 */
export function fromOpenAIUsage(usage: OpenAIUsageWire | null | undefined): Usage {
  const inputTokens = usage?.prompt_tokens ?? 0;
  let outputTokens = usage?.completion_tokens ?? 0;
  // DeepSeek's own counter is read when the OpenAI-style detail is absent or zero.
  const cached = usage?.prompt_tokens_details?.cached_tokens || usage?.prompt_cache_hit_tokens;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
  if (reasoning > 0 && usage?.total_tokens === inputTokens + outputTokens + reasoning) {
    outputTokens += reasoning;
  }
  const result: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  if (cached) result.cachedInputTokens = cached;
  if (reasoning) result.reasoningTokens = reasoning;
  return result;
}
