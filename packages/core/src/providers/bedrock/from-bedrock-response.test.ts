import { describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../errors.js';
import { fromBedrockResponse, fromBedrockUsage, mapBedrockStopReason } from './from-bedrock-response.js';
import { readFixture } from './testing/bedrock-wire.js';

const context = { provider: 'bedrock', id: 'req-1', model: 'amazon.nova-pro-v1:0' };

describe('fromBedrockResponse', () => {
  it('text, with the request id and model the adapter supplies', () => {
    expect(fromBedrockResponse(readFixture('converse-text.json'), context)).toEqual({
      id: 'req-1',
      model: 'amazon.nova-pro-v1:0',
      content: "Three r's: st-r-awbe-r-r-y.",
      toolCalls: [],
      finishReason: 'stop',
      usage: {
        inputTokens: 18,
        outputTokens: 14,
        totalTokens: 32,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
      },
    });
  });

  it('tool calls keep their ids; input becomes JSON text, {} for a no-argument tool', () => {
    const result = fromBedrockResponse(readFixture('converse-tool-calls.json'), context);
    expect(result.content).toBe('Checking the weather, then refreshing the list.');
    expect(result.toolCalls).toEqual([
      { id: 'tooluse_w3aTh3r0001', name: 'get_weather', arguments: '{"city":"Lyon","unit":"celsius"}' },
      { id: 'tooluse_r3fr35h0002', name: 'refresh_list', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toEqual({ inputTokens: 140, outputTokens: 52, totalTokens: 192 });
  });

  it('reasoning text, cache reads and writes counted into inputTokens, max_tokens → length', () => {
    const result = fromBedrockResponse(readFixture('converse-reasoning.json'), context);
    expect(result.reasoning).toBe("Count letters: b-a-n-a-n-a has three a's.");
    expect(result.content).toBe("There are 3 a's in banana.");
    expect(result.finishReason).toBe('length');
    expect(result.usage).toEqual({
      inputTokens: 1320,
      outputTokens: 77,
      totalTokens: 1397,
      cachedInputTokens: 1024,
      cacheWriteInputTokens: 256,
    });
  });

  it('a tool-only answer has null content', () => {
    const body = readFixture('converse-tool-calls.json');
    body.output.message.content.shift();
    expect(fromBedrockResponse(body, context).content).toBeNull();
  });

  it('a body that is not an object is the provider’s failure', () => {
    expect(() => fromBedrockResponse('oops', context)).toThrow(ProviderUnavailableError);
  });
});

describe('mapBedrockStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['something_new', 'other'],
    [undefined, 'other'],
  ] as const)('%s → %s', (reason, finish) => {
    expect(mapBedrockStopReason(reason)).toBe(finish);
  });
});

describe('fromBedrockUsage', () => {
  it('reads the *Count spelling of the cache fields when the documented one is absent', () => {
    expect(
      fromBedrockUsage({
        inputTokens: 5,
        outputTokens: 2,
        cacheReadInputTokenCount: 100,
        cacheWriteInputTokenCount: 7,
      }),
    ).toEqual({
      inputTokens: 112,
      outputTokens: 2,
      totalTokens: 114,
      cachedInputTokens: 100,
      cacheWriteInputTokens: 7,
    });
  });

  it('no usage reads as zeros', () => {
    expect(fromBedrockUsage(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });
});
