import type { FinishReason } from '@keyhold/core';

/** Anthropic's `stop_reason` values this gateway emits. */
export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/**
 * Maps a neutral finish reason to Anthropic's `stop_reason`
 * (https://docs.claude.com/en/api/handling-stop-reasons).
 *
 * `stop_sequence` is never produced: the neutral result does not say which stop sequence matched,
 * and Anthropic's `stop_reason: "stop_sequence"` promises a non-null `stop_sequence`. `other` and
 * `error` become `end_turn`: the model's turn did end, and Anthropic has no value for "unknown".
 */
export function toAnthropicStopReason(reason: FinishReason): AnthropicStopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}
