import { ProviderUnavailableError } from '../../errors.js';
import type { ChatResult, FinishReason, ToolCall, Usage } from '../../types/index.js';

/**
 * Converse's `TokenUsage`. Recorded bodies carry the cache counts under two spellings
 * (`cacheReadInputTokens` and `cacheReadInputTokenCount`); the first is the documented one.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
 */
export interface BedrockUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
  cacheReadInputTokenCount?: number;
  cacheWriteInputTokenCount?: number;
}

interface BedrockResponseBlock {
  text?: string;
  toolUse?: { toolUseId?: string; name?: string; input?: unknown };
  reasoningContent?: { reasoningText?: { text?: string } };
}

interface BedrockConverseResponse {
  output?: { message?: { content?: BedrockResponseBlock[] } };
  stopReason?: string;
  usage?: BedrockUsage;
}

/** What the adapter knows that the body does not: Converse returns no response id and no model. */
export interface BedrockResponseContext {
  provider: string;
  /** The `x-amzn-requestid` header, or a generated id. */
  id: string;
  model: string;
}

/**
 * Maps a Converse response body to a neutral result: text blocks joined, `toolUse` blocks as tool
 * calls (input re-serialised to JSON text), reasoning text joined.
 */
export function fromBedrockResponse(body: unknown, context: BedrockResponseContext): ChatResult {
  if (body === null || typeof body !== 'object') {
    throw new ProviderUnavailableError(`${context.provider} returned an unexpected response body`, {
      provider: context.provider,
    });
  }
  const response = body as BedrockConverseResponse;
  const blocks = response.output?.message?.content ?? [];
  const texts: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of blocks) {
    if (typeof block.text === 'string') texts.push(block.text);
    const thought = block.reasoningContent?.reasoningText?.text;
    if (typeof thought === 'string') reasoning.push(thought);
    if (block.toolUse) {
      toolCalls.push({
        id: block.toolUse.toolUseId ?? '',
        name: block.toolUse.name ?? '',
        arguments: JSON.stringify(block.toolUse.input ?? {}),
      });
    }
  }
  return {
    id: context.id,
    model: context.model,
    content: texts.length > 0 ? texts.join('') : null,
    ...(reasoning.length > 0 ? { reasoning: reasoning.join('') } : {}),
    toolCalls,
    finishReason: mapBedrockStopReason(response.stopReason),
    usage: fromBedrockUsage(response.usage),
  };
}

/**
 * Converse stop reasons to neutral finish reasons.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 */
export function mapBedrockStopReason(reason: string | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * Bedrock counts like Anthropic: `inputTokens` is only the input that was neither read from nor
 * written to the prompt cache, and the cache counts come on top. The neutral `inputTokens` counts
 * all input, so it is the sum of the three; `totalTokens` is recomputed as input + output rather
 * than trusting Bedrock's `totalTokens`. Bedrock does not split reasoning out of `outputTokens`.
 */
export function fromBedrockUsage(usage: BedrockUsage | undefined): Usage {
  const read = count(usage?.cacheReadInputTokens ?? usage?.cacheReadInputTokenCount);
  const write = count(usage?.cacheWriteInputTokens ?? usage?.cacheWriteInputTokenCount);
  const inputTokens = (count(usage?.inputTokens) ?? 0) + (read ?? 0) + (write ?? 0);
  const outputTokens = count(usage?.outputTokens) ?? 0;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    ...(read !== undefined ? { cachedInputTokens: read } : {}),
    ...(write !== undefined ? { cacheWriteInputTokens: write } : {}),
  };
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
