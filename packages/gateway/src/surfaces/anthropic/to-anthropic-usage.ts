import type { Usage } from '@keyhold/core';

/** Anthropic's usage counters, as in a message and in `message_delta`. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * Maps neutral usage to Anthropic's. Neutral `inputTokens` counts all input, cached or not;
 * Anthropic's `input_tokens` counts only input that was neither read from nor written to the
 * prompt cache, with the two cache counts beside it
 * (https://docs.claude.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance),
 * so both cache counts are subtracted (never below zero).
 */
export function toAnthropicUsage(usage: Usage | undefined): AnthropicUsage {
  const read = count(usage?.cachedInputTokens);
  const write = count(usage?.cacheWriteInputTokens);
  return {
    input_tokens: Math.max(0, count(usage?.inputTokens) - read - write),
    output_tokens: count(usage?.outputTokens),
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  };
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
