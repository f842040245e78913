import { ProviderUnavailableError } from '../../errors.js';
import type { ChatResult, ToolCall } from '../../types/index.js';
import { fromOpenAIUsage } from './from-openai-usage.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import type { OpenAIChatWire, OpenAIContentWire, OpenAIToolCallWire } from './openai-wire.js';

/**
 * OpenAI Chat Completions response → neutral result. Reads the compatible family's variants:
 * DeepSeek / xAI `reasoning_content`, Groq / OpenRouter `reasoning`, Groq `x_groq.usage`, Mistral
 * content arrays and tool calls without `type`, Azure's filter annotations (ignored). A refusal
 * (structured outputs) is returned as the content, since the neutral result has no refusal field.
 */
export function fromOpenAIResponse(provider: string, body: unknown): ChatResult {
  const wire = body as OpenAIChatWire | undefined;
  const choice = Array.isArray(wire?.choices) ? wire.choices[0] : undefined;
  if (!choice) {
    throw new ProviderUnavailableError(`${provider} returned a response without a choice`, { provider });
  }
  // Azure's content filter can end a choice with no message content at all.
  const message = choice.message ?? {};
  const { text, reasoning } = splitContent(message.content);
  const reasoningText = reasoning || message.reasoning_content || message.reasoning || '';
  const toolCalls = (message.tool_calls ?? []).map(toToolCall);
  const result: ChatResult = {
    id: wire?.id ?? '',
    model: wire?.model ?? '',
    content: text ?? message.refusal ?? null,
    toolCalls,
    finishReason: mapOpenAIFinishReason(choice.finish_reason, toolCalls.length > 0),
    usage: fromOpenAIUsage(wire?.usage ?? wire?.x_groq?.usage),
  };
  if (reasoningText) result.reasoning = reasoningText;
  return result;
}

function toToolCall(call: OpenAIToolCallWire, position: number): ToolCall {
  return {
    id: call.id || `call_${position}`,
    name: call.function?.name ?? '',
    arguments: argumentsText(call.function?.arguments),
  };
}

/**
 * Tool arguments as JSON text. A no-argument call is `{}` (what OpenAI sends), whatever a
 * compatible server put there (nothing, null, an empty string); an object is serialised.
 */
export function argumentsText(value: string | Record<string, unknown> | null | undefined): string {
  if (typeof value === 'string') return value === '' ? '{}' : value;
  if (value && typeof value === 'object') return JSON.stringify(value);
  return '{}';
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
