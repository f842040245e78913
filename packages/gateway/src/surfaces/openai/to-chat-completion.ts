import type { ChatResult, FinishReason, Usage } from '@keyhold/core';
import { jsonString } from '../../text/json-string.js';

/** What the gateway adds to every OpenAI response object. */
export interface OpenAIResponseContext {
  /** `chatcmpl-…` id (the gateway's, stable per request). */
  id: string;
  /** The model as the client named it. */
  model: string;
  /** Unix seconds. */
  created: number;
}

/**
 * A neutral result as the JSON text of an OpenAI `chat.completion` object
 * (https://platform.openai.com/docs/api-reference/chat/object): `refusal: null` and
 * `logprobs: null` are present as OpenAI sends them; `tool_calls` only when there are any.
 * Written by hand rather than `JSON.stringify` of an object: serialising that object walked some
 * twenty keys on every non-streamed request. The model's text and tool calls still go through
 * `JSON.stringify` (they need escaping); the frame around them is fixed. A count that is not a
 * finite number is written `null`, as `JSON.stringify` writes NaN.
 */
export function toChatCompletionJson(result: ChatResult, ctx: OpenAIResponseContext): string {
  const usage = result.usage;
  const toolCalls =
    result.toolCalls.length > 0
      ? `,"tool_calls":${JSON.stringify(
          result.toolCalls.map((tc) => ({
            id: tc.id,
            type: 'function',
            function: { name: tc.name, arguments: tc.arguments },
          })),
        )}`
      : '';
  return (
    `{"id":${jsonString(ctx.id)},"object":"chat.completion","created":${count(ctx.created)},"model":${jsonString(ctx.model)}` +
    `,"choices":[{"index":0,"message":{"role":"assistant","content":${result.content === null ? 'null' : JSON.stringify(result.content)}` +
    `,"refusal":null,"annotations":[]${toolCalls}},"logprobs":null,"finish_reason":"${toFinishReason(result.finishReason)}"}]` +
    `,"usage":{"prompt_tokens":${count(usage.inputTokens)},"completion_tokens":${count(usage.outputTokens)}` +
    `,"total_tokens":${count(usage.totalTokens)},"prompt_tokens_details":{"cached_tokens":${count(usage.cachedInputTokens ?? 0)},"audio_tokens":0}` +
    `,"completion_tokens_details":{"reasoning_tokens":${count(usage.reasoningTokens ?? 0)},"audio_tokens":0` +
    ',"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}'
  );
}

/** A number as `JSON.stringify` writes it (`null` when not finite). */
function count(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** OpenAI has no `error` / `other` finish reason; both read as a normal stop. */
export function toFinishReason(reason: FinishReason): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  return reason === 'length' || reason === 'tool_calls' || reason === 'content_filter' ? reason : 'stop';
}

/** Neutral usage in OpenAI's shape, with the detail objects the SDK types declare. */
export function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
