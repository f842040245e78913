import type { ChatResult, ToolCall, Usage } from '../../types/index.js';
import type { GeminiFunctionCall, GeminiResponse, GeminiUsageMetadata } from './gemini-wire.js';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.js';

export interface GeminiResponseContext {
  /** The model asked for; `modelVersion` wins when Gemini names one. */
  model: string;
  /** Used when the body has no `responseId`. */
  fallbackId: string;
}

/**
 * Maps a `GenerateContentResponse` to a neutral result. Only the first candidate is read
 * (Keyhold never asks for more). Text parts marked `thought: true` are thought summaries and go
 * to `reasoning`; `thoughtSignature`s are opaque and dropped.
 * https://ai.google.dev/api/generate-content#generatecontentresponse
 */
export function fromGeminiResponse(body: GeminiResponse, context: GeminiResponseContext): ChatResult {
  const candidate = body.candidates?.[0];
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const part of candidate?.content?.parts ?? []) {
    if (part.functionCall) {
      toolCalls.push(toToolCall(part.functionCall, toolCalls.length));
    } else if (typeof part.text === 'string') {
      if (part.thought) reasoning += part.text;
      else text += part.text;
    }
  }
  // A prompt blocked before generation has no candidate at all, only `promptFeedback.blockReason`.
  const finishReason =
    !candidate && body.promptFeedback?.blockReason
      ? 'content_filter'
      : mapGeminiFinishReason(candidate?.finishReason, toolCalls.length > 0);
  return {
    id: body.responseId ?? context.fallbackId,
    model: body.modelVersion ?? context.model,
    content: text === '' ? null : text,
    ...(reasoning !== '' ? { reasoning } : {}),
    toolCalls,
    finishReason,
    usage: fromGeminiUsage(body.usageMetadata),
  };
}

/**
 * Gemini API answers often carry no call id; a stable one is made from the call's position in
 * the answer (`call_0`, `call_1`…), so the same answer always yields the same ids.
 */
export function toolCallId(call: GeminiFunctionCall, index: number): string {
  return call.id ?? `call_${index}`;
}

function toToolCall(call: GeminiFunctionCall, index: number): ToolCall {
  return { id: toolCallId(call, index), name: call.name ?? '', arguments: JSON.stringify(call.args ?? {}) };
}

/**
 * Neutral usage from `usageMetadata`. `promptTokenCount` already includes cached-content tokens;
 * tool-use prompt tokens (code execution, grounding) are billed as input and added to it; thinking
 * tokens (`thoughtsTokenCount`) are output tokens that `candidatesTokenCount` leaves out. With
 * these sums input + output equals Gemini's `totalTokenCount`.
 * https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function fromGeminiUsage(metadata: GeminiUsageMetadata | undefined): Usage {
  const prompt = metadata?.promptTokenCount ?? 0;
  const toolUse = metadata?.toolUsePromptTokenCount ?? 0;
  const thoughts = metadata?.thoughtsTokenCount;
  const inputTokens = prompt + toolUse;
  const outputTokens = (metadata?.candidatesTokenCount ?? 0) + (thoughts ?? 0);
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    ...(metadata?.cachedContentTokenCount !== undefined
      ? { cachedInputTokens: metadata.cachedContentTokenCount }
      : {}),
    ...(thoughts !== undefined ? { reasoningTokens: thoughts } : {}),
  };
}

/** True when a chunk's usage carries counts (Vertex sends only `trafficType` until the end). */
export function hasTokenCounts(metadata: GeminiUsageMetadata | undefined): boolean {
  return (
    metadata?.promptTokenCount !== undefined ||
    metadata?.candidatesTokenCount !== undefined ||
    metadata?.totalTokenCount !== undefined
  );
}
