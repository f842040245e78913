import { describe, expect, it } from 'vitest';
import { fromGeminiResponse, fromGeminiUsage } from './from-gemini-response.js';
import type { GeminiResponse } from './gemini-wire.js';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.js';
import { geminiFixture } from './testing/gemini-fixtures.js';

const context = { model: 'gemini-2.5-flash', fallbackId: 'fallback-id' };

describe('fromGeminiResponse', () => {
  it('reads text, id, model and usage with cached and thinking tokens', () => {
    expect(fromGeminiResponse(geminiFixture('gemini-text.json'), context)).toEqual({
      id: 'q3xPaaT1DpKDxN8Pk9vW2Ac',
      model: 'gemini-2.5-flash',
      content: 'Paris is the capital of France.',
      toolCalls: [],
      finishReason: 'stop',
      usage: {
        inputTokens: 1200,
        cachedInputTokens: 1024,
        outputTokens: 118,
        reasoningTokens: 110,
        totalTokens: 1318,
      },
    });
  });

  it('reads function calls (with and without arguments) and calls STOP with calls tool_calls', () => {
    const result = fromGeminiResponse(geminiFixture('gemini-tool-calls.json'), context);
    expect(result.content).toBe('Let me check both.');
    expect(result.toolCalls).toEqual([
      { id: 'call_0', name: 'get_weather', arguments: '{"city":"Lyon","units":"celsius"}' },
      { id: 'call_1', name: 'get_time', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toEqual({ inputTokens: 61, outputTokens: 24, totalTokens: 85 });
  });

  it('keeps a call id Gemini sends, and gives the same ids for the same answer', () => {
    const body: GeminiResponse = {
      candidates: [
        {
          content: {
            parts: [
              { functionCall: { id: 'fc-9', name: 'a', args: {} } },
              { functionCall: { name: 'b', args: { x: 1 } } },
            ],
          },
          finishReason: 'STOP',
        },
      ],
    };
    const ids = fromGeminiResponse(body, context).toolCalls.map((c) => c.id);
    expect(ids).toEqual(['fc-9', 'call_1']);
    expect(fromGeminiResponse(body, context).toolCalls.map((c) => c.id)).toEqual(ids);
  });

  it('puts thought-summary parts into reasoning, not content', () => {
    const result = fromGeminiResponse(geminiFixture('gemini-reasoning.json'), context);
    expect(result.content).toBe("There are **3** r's in strawberry.");
    expect(result.reasoning).toBe(
      '**Counting letters**\n\nI am spelling the word out and counting each r.\n',
    );
    expect(result.model).toBe('gemini-3-pro-preview');
    expect(result.usage).toEqual({
      inputTokens: 9,
      outputTokens: 311,
      reasoningTokens: 282,
      totalTokens: 320,
    });
  });

  it('reports a prompt blocked before generation as content_filter with no content', () => {
    const result = fromGeminiResponse(geminiFixture('gemini-blocked-prompt.json'), context);
    expect(result).toMatchObject({ content: null, toolCalls: [], finishReason: 'content_filter' });
    expect(result.usage).toEqual({ inputTokens: 14, outputTokens: 0, totalTokens: 14 });
  });

  it('falls back to the asked model and a generated id when Gemini names neither', () => {
    const result = fromGeminiResponse(
      { candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'STOP' }] },
      context,
    );
    expect(result).toMatchObject({ id: 'fallback-id', model: 'gemini-2.5-flash', content: 'x' });
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });
});

describe('mapGeminiFinishReason', () => {
  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', false, 'length'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['IMAGE_SAFETY', false, 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', false, 'error'],
    ['LANGUAGE', false, 'other'],
    ['OTHER', false, 'other'],
    ['FINISH_REASON_UNSPECIFIED', false, 'other'],
    ['UNEXPECTED_TOOL_CALL', true, 'other'],
    [undefined, false, 'other'],
  ] as const)('%s (tool calls: %s) → %s', (reason, calls, expected) => {
    expect(mapGeminiFinishReason(reason, calls)).toBe(expected);
  });
});

describe('fromGeminiUsage', () => {
  it('counts tool-use prompt tokens as input so input + output is Gemini’s total', () => {
    expect(
      fromGeminiUsage({
        promptTokenCount: 100,
        cachedContentTokenCount: 60,
        toolUsePromptTokenCount: 20,
        candidatesTokenCount: 7,
        thoughtsTokenCount: 30,
        totalTokenCount: 157,
      }),
    ).toEqual({
      inputTokens: 120,
      cachedInputTokens: 60,
      outputTokens: 37,
      reasoningTokens: 30,
      totalTokens: 157,
    });
  });
});
