import type { ChatResult } from '@keyhold/core';
import { describe, expect, it } from 'vitest';
import { toAnthropicMessage } from './to-anthropic-message.js';
import { toAnthropicToolInput } from './to-anthropic-tool-input.js';

const ctx = { id: 'msg_gw_1', model: 'openai/gpt-4o' };

function result(overrides: Partial<ChatResult>): ChatResult {
  return {
    id: 'upstream-id',
    model: 'gpt-4o-2024-08-06',
    content: 'Hi there.',
    toolCalls: [],
    finishReason: 'stop',
    usage: { inputTokens: 12, outputTokens: 5, totalTokens: 17 },
    ...overrides,
  };
}

describe('toAnthropicMessage', () => {
  it("renders a plain text answer in Anthropic's shape, with the gateway id and requested model", () => {
    expect(toAnthropicMessage(result({}), ctx)).toEqual({
      id: 'msg_gw_1',
      type: 'message',
      role: 'assistant',
      model: 'openai/gpt-4o',
      content: [{ type: 'text', text: 'Hi there.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 12,
        output_tokens: 5,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
  });

  it('orders thinking, text, then tool_use blocks', () => {
    const message = toAnthropicMessage(
      result({
        reasoning: 'hmm',
        content: 'Calling.',
        toolCalls: [
          { id: 'c1', name: 'a', arguments: '{"x":[1,{"y":null}]}' },
          { id: 'c2', name: 'b', arguments: '{}' },
        ],
        finishReason: 'tool_calls',
      }),
      ctx,
    );
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: '' },
      { type: 'text', text: 'Calling.' },
      { type: 'tool_use', id: 'c1', name: 'a', input: { x: [1, { y: null }] } },
      { type: 'tool_use', id: 'c2', name: 'b', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('emits no text block for null or empty content', () => {
    expect(toAnthropicMessage(result({ content: null }), ctx).content).toEqual([]);
    expect(toAnthropicMessage(result({ content: '' }), ctx).content).toEqual([]);
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['other', 'end_turn'],
    ['error', 'end_turn'],
  ] as const)('finish %s → stop_reason %s', (finishReason, stopReason) => {
    expect(toAnthropicMessage(result({ finishReason }), ctx).stop_reason).toBe(stopReason);
  });

  it('splits cached and cache-written tokens out of input_tokens', () => {
    const usage = {
      inputTokens: 10_000,
      outputTokens: 7,
      totalTokens: 10_007,
      cachedInputTokens: 6289,
      cacheWriteInputTokens: 3337,
    };
    expect(toAnthropicMessage(result({ usage }), ctx).usage).toEqual({
      input_tokens: 374,
      output_tokens: 7,
      cache_creation_input_tokens: 3337,
      cache_read_input_tokens: 6289,
    });
  });

  it('never reports negative input tokens when a provider over-counts the cache', () => {
    const usage = { inputTokens: 5, outputTokens: 1, totalTokens: 6, cachedInputTokens: 9 };
    expect(toAnthropicMessage(result({ usage }), ctx).usage).toMatchObject({
      input_tokens: 0,
      cache_read_input_tokens: 9,
    });
  });
});

describe('toAnthropicToolInput', () => {
  it.each([
    ['', {}],
    ['   ', {}],
    ['{"a":1}', { a: 1 }],
    ['{"a":', {}],
    ['[1,2]', {}],
    ['"text"', {}],
    ['null', {}],
    ['42', {}],
  ])('%j → %j', (text, input) => {
    expect(toAnthropicToolInput(text)).toEqual(input);
  });
});
