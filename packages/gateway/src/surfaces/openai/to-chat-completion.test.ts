import type { ChatResult } from '@keyhold/core';
import { describe, expect, it } from 'vitest';
import {
  type OpenAIResponseContext,
  toChatCompletionJson,
  toFinishReason,
  toOpenAIUsage,
} from './to-chat-completion.js';

/** The chat.completion object OpenAI sends for `result`, as an object: what the text must encode. */
function toChatCompletion(result: ChatResult, ctx: OpenAIResponseContext): Record<string, unknown> {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: result.content,
    refusal: null,
    annotations: [],
  };
  if (result.toolCalls.length > 0) {
    message.tool_calls = result.toolCalls.map((tc) => ({
      id: tc.id,
      type: 'function',
      function: { name: tc.name, arguments: tc.arguments },
    }));
  }
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: toFinishReason(result.finishReason) }],
    usage: toOpenAIUsage(result.usage),
    service_tier: 'default',
  };
}

const ctx = { id: 'chatcmpl-0123456789abcdef01234567', model: 'gpt-4o-mini', created: 1_765_000_000 };
const result: ChatResult = {
  id: 'chatcmpl-upstream',
  model: 'gpt-4o-mini-2024-07-18',
  content: 'Foxes are quick.',
  toolCalls: [],
  finishReason: 'stop',
  usage: { inputTokens: 21, outputTokens: 20, totalTokens: 41 },
};

describe('toChatCompletionJson', () => {
  it('writes the text JSON.stringify writes of the chat.completion object OpenAI sends', () => {
    const variants: [ChatResult, typeof ctx][] = [
      [result, ctx],
      [{ ...result, content: null }, ctx],
      [
        { ...result, content: 'quote " backslash \\ newline \n tab \t nul \u0000 ü 日本 😀 lone \ud800' },
        ctx,
      ],
      [
        { ...result, content: '' },
        { ...ctx, model: 'alias "with" quotes', id: 'chatcmpl-ü' },
      ],
      [
        {
          ...result,
          content: null,
          finishReason: 'tool_calls',
          toolCalls: [
            { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { id: 'call_2', name: 'ünïcode', arguments: '' },
          ],
        },
        ctx,
      ],
      [{ ...result, finishReason: 'length' }, ctx],
      [{ ...result, finishReason: 'content_filter' }, ctx],
      [{ ...result, finishReason: 'error' }, ctx],
      [{ ...result, finishReason: 'other' }, ctx],
      [
        {
          ...result,
          usage: {
            inputTokens: 100,
            outputTokens: 50,
            totalTokens: 150,
            cachedInputTokens: 64,
            reasoningTokens: 12,
          },
        },
        ctx,
      ],
      [
        {
          ...result,
          usage: { inputTokens: Number.NaN, outputTokens: 1.5, totalTokens: Number.POSITIVE_INFINITY },
        },
        ctx,
      ],
      [result, { ...ctx, created: 0 }],
    ];
    for (const [r, c] of variants) {
      const text = toChatCompletionJson(r, c);
      expect(text).toBe(JSON.stringify(toChatCompletion(r, c)));
    }
  });
});
