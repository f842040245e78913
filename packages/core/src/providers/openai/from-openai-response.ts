import { ProviderUnavailableError } from '../../errors.js';
import type { ChatResult, EmbedResult, FinishReason, ToolCall, Usage } from '../../types/index.js';
import type { OpenAIChatWire, OpenAIContentWire, OpenAIMessageWire, OpenAIUsageWire } from './openai-wire.js';

/**
 * OpenAI Chat Completions response → neutral result. Reads the compatible family's variants:
 * DeepSeek / xAI `reasoning_content`, Groq `reasoning` and `x_groq.usage`, Mistral content arrays
 * and tool calls without `type`, DeepSeek `prompt_cache_hit_tokens`.
 */
export function fromOpenAIResponse(provider: string, body: unknown): ChatResult {
  const wire = body as OpenAIChatWire;
  const choice = Array.isArray(wire?.choices) ? wire.choices[0] : undefined;
  if (!choice?.message) {
    throw new ProviderUnavailableError(`${provider} returned a response without a message`, { provider });
  }
  const message = choice.message;
  const { text, reasoning } = splitContent(message.content);
  const reasoningText = reasoning || message.reasoning_content || message.reasoning || '';
  const toolCalls: ToolCall[] = (message.tool_calls ?? []).map((call, i) => ({
    id: call.id ?? `call_${i}`,
    name: call.function?.name ?? '',
    arguments: call.function?.arguments ?? '{}',
  }));
  return {
    id: wire.id ?? '',
    model: wire.model ?? '',
    content: text ?? (message.refusal ? message.refusal : null),
    ...(reasoningText ? { reasoning: reasoningText } : {}),
    toolCalls,
    finishReason: mapOpenAIFinishReason(choice.finish_reason, toolCalls.length > 0),
    usage: fromOpenAIUsage(wire.usage ?? wire.x_groq?.usage),
  };
}

/** Text and reasoning out of a content field that is a string, null, or Mistral's part array. */
export function splitContent(content: OpenAIContentWire | undefined): {
  text: string | null;
  reasoning: string;
} {
  if (content === null || content === undefined) return { text: null, reasoning: '' };
  if (typeof content === 'string') return { text: content, reasoning: '' };
  let text: string | null = null;
  let reasoning = '';
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') text = (text ?? '') + part.text;
    else if (part.type === 'thinking') {
      for (const piece of part.thinking ?? []) if (typeof piece.text === 'string') reasoning += piece.text;
    }
  }
  return { text, reasoning };
}

export function deltaReasoning(delta: OpenAIMessageWire): string {
  return delta.reasoning_content || delta.reasoning || '';
}

export function mapOpenAIFinishReason(
  reason: string | null | undefined,
  hasToolCalls: boolean,
): FinishReason {
  switch (reason) {
    case 'stop':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'length':
    case 'model_length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    case 'error':
      return 'error';
    default:
      return hasToolCalls ? 'tool_calls' : 'other';
  }
}

export function fromOpenAIUsage(usage: OpenAIUsageWire | null | undefined): Usage {
  const inputTokens = usage?.prompt_tokens ?? 0;
  const outputTokens = usage?.completion_tokens ?? 0;
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? usage?.prompt_cache_hit_tokens;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
  };
}

interface EmbeddingWire {
  model?: string;
  data?: { index?: number; embedding?: number[] }[];
  usage?: { prompt_tokens?: number };
}

/** OpenAI Embeddings response → neutral result, in input order whatever order `data` came in. */
export function fromOpenAIEmbeddingResponse(
  provider: string,
  body: unknown,
  requestedModel: string,
): EmbedResult {
  const wire = body as EmbeddingWire;
  if (!Array.isArray(wire?.data)) {
    throw new ProviderUnavailableError(`${provider} returned an embedding response without data`, {
      provider,
    });
  }
  const sorted = [...wire.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return {
    model: wire.model ?? requestedModel,
    embeddings: sorted.map((d) => d.embedding ?? []),
    usage: { inputTokens: wire.usage?.prompt_tokens ?? 0 },
  };
}
