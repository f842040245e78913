import { describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../errors.js';
import { fromOpenAIEmbeddingResponse } from './from-openai-embedding-response.js';
import { fromOpenAIResponse } from './from-openai-response.js';
import { fromOpenAIUsage } from './from-openai-usage.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { fixtureJson } from './testing/openai-fixtures.js';

describe('fromOpenAIResponse', () => {
  it('reads OpenAI text with cached and reasoning usage', () => {
    expect(fromOpenAIResponse('openai', fixtureJson('openai-text.json'))).toEqual({
      id: 'chatcmpl-KH1text0000000000000000000001',
      model: 'gpt-4.1-nano-2025-04-14',
      content: 'Keys stay with their owners.',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 21, outputTokens: 7, totalTokens: 28, cachedInputTokens: 16, reasoningTokens: 3 },
    });
  });

  it('reads parallel tool calls, a no-argument one included', () => {
    const result = fromOpenAIResponse('openai', fixtureJson('openai-tool-call.json'));
    expect(result.content).toBeNull();
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([
      { id: 'call_kh1weather000000000001', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_kh1clock00000000000002', name: 'clock', arguments: '{}' },
    ]);
  });

  it('reads Mistral tool calls without a type field and usage without details', () => {
    const result = fromOpenAIResponse('mistral', fixtureJson('mistral-tool-call.json'));
    expect(result.toolCalls).toEqual([{ id: 'Kh1Mst9ab', name: 'weather', arguments: '{"city": "Paris"}' }]);
    expect(result.content).toBe('');
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toEqual({ inputTokens: 90, outputTokens: 22, totalTokens: 112 });
  });

  it('splits Mistral’s content array into reasoning and text', () => {
    const result = fromOpenAIResponse('mistral', fixtureJson('mistral-reasoning.json'));
    expect(result.content).toBe('There are 3.');
    expect(result.reasoning).toBe('Count the letters.');
  });

  it('reads DeepSeek reasoning_content, prompt_cache_hit_tokens and a length finish', () => {
    const result = fromOpenAIResponse('deepseek', fixtureJson('deepseek-reasoning.json'));
    expect(result.reasoning).toBe('Six times seven is forty-two.');
    expect(result.content).toBe('The answer is 42.');
    expect(result.finishReason).toBe('length');
    // prompt_tokens_details.cached_tokens is 0 here; DeepSeek's own counter says 48 hit the cache.
    expect(result.usage).toEqual({
      inputTokens: 64,
      outputTokens: 120,
      totalTokens: 184,
      cachedInputTokens: 48,
      reasoningTokens: 110,
    });
  });

  it('counts xAI reasoning, which xAI leaves out of completion_tokens, in the output', () => {
    const result = fromOpenAIResponse('xai', fixtureJson('xai-reasoning.json'));
    expect(result.reasoning).toBe('A one-word greeting fits.');
    expect(result.usage).toEqual({
      inputTokens: 14,
      outputTokens: 201,
      totalTokens: 215,
      cachedInputTokens: 6,
      reasoningTokens: 200,
    });
  });

  it('returns a structured-output refusal as the content', () => {
    const result = fromOpenAIResponse('openai', fixtureJson('openai-refusal.json'));
    expect(result.content).toBe("I'm sorry, I can't help with that.");
    expect(result.finishReason).toBe('stop');
  });

  it('reads Groq `reasoning` and usage from x_groq when the top level has none', () => {
    const result = fromOpenAIResponse('groq', {
      id: 'chatcmpl-g',
      model: 'qwen/qwen3-32b',
      choices: [
        { index: 0, message: { role: 'assistant', content: '4', reasoning: 'Add.' }, finish_reason: 'stop' },
      ],
      x_groq: { usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } },
    });
    expect(result.reasoning).toBe('Add.');
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 9, totalTokens: 14 });
  });

  it('reads an Azure choice stopped by the content filter with no content', () => {
    const result = fromOpenAIResponse('azure', {
      id: 'chatcmpl-a',
      model: 'gpt-4o',
      choices: [{ index: 0, finish_reason: 'content_filter', message: { role: 'assistant' } }],
      usage: { prompt_tokens: 9, completion_tokens: 0, total_tokens: 9 },
    });
    expect(result.content).toBeNull();
    expect(result.finishReason).toBe('content_filter');
  });

  it('turns tool arguments a compatible server sent as an object or nothing into JSON text', () => {
    const result = fromOpenAIResponse('ollama', {
      id: 'x',
      model: 'llama3.2',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: {
            role: 'assistant',
            content: '',
            tool_calls: [
              { id: 'a', function: { name: 'weather', arguments: { city: 'Oslo' } } },
              { function: { name: 'clock', arguments: '' } },
            ],
          },
        },
      ],
    });
    expect(result.toolCalls).toEqual([
      { id: 'a', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_1', name: 'clock', arguments: '{}' },
    ]);
    // Ollama says `stop` after tool calls: the tool calls decide.
    expect(result.finishReason).toBe('tool_calls');
  });

  it('a body without choices is the provider’s fault', () => {
    expect(() => fromOpenAIResponse('openai', { id: 'x', choices: [] })).toThrow(ProviderUnavailableError);
  });
});

describe('mapOpenAIFinishReason', () => {
  it.each([
    ['stop', false, 'stop'],
    ['stop', true, 'tool_calls'],
    ['length', false, 'length'],
    ['tool_calls', true, 'tool_calls'],
    ['function_call', false, 'tool_calls'],
    ['content_filter', false, 'content_filter'],
    ['error', false, 'error'],
    ['insufficient_system_resource', false, 'error'],
    [null, false, 'other'],
    ['something_new', false, 'other'],
  ] as const)('%s (tool calls: %s) → %s', (reason, hasTools, expected) => {
    expect(mapOpenAIFinishReason(reason, hasTools)).toBe(expected);
  });
});

describe('fromOpenAIUsage', () => {
  it('treats a missing usage as zero', () => {
    expect(fromOpenAIUsage(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });
  it('keeps reasoning inside the output when completion_tokens already counts it (OpenAI, Groq)', () => {
    expect(
      fromOpenAIUsage({
        prompt_tokens: 17,
        completion_tokens: 60,
        total_tokens: 77,
        completion_tokens_details: { reasoning_tokens: 58 },
      }),
    ).toEqual({ inputTokens: 17, outputTokens: 60, totalTokens: 77, reasoningTokens: 58 });
  });
});

describe('fromOpenAIEmbeddingResponse', () => {
  it('puts vectors back in input order by index, with usage', () => {
    const result = fromOpenAIEmbeddingResponse('openai', fixtureJson('embedding.json'), {
      model: 'text-embedding-3-small',
      input: ['first', 'second'],
    });
    expect(result).toEqual({
      model: 'text-embedding-3-small',
      embeddings: [
        [-0.0068, 0.0027, -0.0195, 0.0134, 0.0089],
        [0.0042, -0.0071, 0.0129, 0.0203, -0.031],
      ],
      usage: { inputTokens: 9 },
    });
  });

  it('rejects a response that does not hold one float vector per input', () => {
    const request = { model: 'm', input: ['a', 'b'] };
    const bodies = [
      { data: [{ index: 0, embedding: [1] }] },
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 0, embedding: [2] },
        ],
      },
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 5, embedding: [2] },
        ],
      },
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 1, embedding: 'AAAA' },
        ],
      },
      {},
    ];
    for (const body of bodies) {
      expect(() => fromOpenAIEmbeddingResponse('openai', body, request)).toThrow(ProviderUnavailableError);
    }
  });
});
