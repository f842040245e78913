import { ProviderUnavailableError } from '../../errors.js';
import type { ChatResult, FinishReason, ToolCall, Usage } from '../../types/index.js';

/**
 * Anthropic's usage object (response `usage`, stream `message_start.message.usage` and the
 * cumulative `message_delta.usage`). `input_tokens` counts only the uncached part of the prompt.
 * https://docs.claude.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

interface AnthropicContentBlock {
  type?: string;
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

interface AnthropicMessageBody {
  id?: string;
  type?: string;
  model?: string;
  content?: AnthropicContentBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/**
 * Anthropic Messages response → neutral result. Text blocks are joined; `tool_use` blocks become
 * tool calls with `input` as JSON text; `thinking` blocks become `reasoning`. Server-tool blocks
 * (`server_tool_use`, `web_search_tool_result`, …) were run by Anthropic and are not the caller's
 * to answer, so they are not tool calls; `redacted_thinking` has no readable text.
 */
export function fromAnthropicResponse(provider: string, body: unknown): ChatResult {
  const message = body as AnthropicMessageBody | null;
  if (message === null || typeof message !== 'object' || !Array.isArray(message.content)) {
    throw new ProviderUnavailableError(`${provider} returned a body that is not a message`, { provider });
  }
  const texts: string[] = [];
  const thoughts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') thoughts.push(block.thinking);
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id ?? '',
        name: block.name ?? '',
        arguments: JSON.stringify(block.input ?? {}),
      });
    }
  }
  const reasoning = thoughts.join('');
  return {
    id: message.id ?? '',
    model: message.model ?? '',
    content: texts.length > 0 ? texts.join('') : null,
    ...(reasoning ? { reasoning } : {}),
    toolCalls,
    finishReason: mapAnthropicStopReason(message.stop_reason),
    usage: fromAnthropicUsage(message.usage ?? {}),
  };
}

/**
 * https://docs.claude.com/en/api/handling-stop-reasons
 * `model_context_window_exceeded` is a length limit like `max_tokens`; `pause_turn` (a server tool
 * loop paused, to be continued) has no neutral equivalent.
 */
export function mapAnthropicStopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * Neutral usage counts the whole prompt as input: Anthropic's uncached `input_tokens` plus the
 * tokens read from and written to the prompt cache.
 */
export function fromAnthropicUsage(usage: AnthropicUsage): Usage {
  const uncached = usage.input_tokens ?? 0;
  const cacheRead = usage.cache_read_input_tokens ?? undefined;
  const cacheWrite = usage.cache_creation_input_tokens ?? undefined;
  const inputTokens = uncached + (cacheRead ?? 0) + (cacheWrite ?? 0);
  const outputTokens = usage.output_tokens ?? 0;
  const thinking = usage.output_tokens_details?.thinking_tokens ?? undefined;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    ...(cacheRead !== undefined ? { cachedInputTokens: cacheRead } : {}),
    ...(cacheWrite !== undefined ? { cacheWriteInputTokens: cacheWrite } : {}),
    ...(thinking !== undefined ? { reasoningTokens: thinking } : {}),
  };
}
