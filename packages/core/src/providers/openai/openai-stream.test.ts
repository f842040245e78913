import { describe, expect, it } from 'vitest';
import { collectStream } from '../../collect-stream.js';
import { ContextLengthError, ProviderUnavailableError, RateLimitError } from '../../errors.js';
import type { StreamEvent } from '../../types/index.js';
import { fromOpenAIStream } from './openai-stream.js';
import { batchesOf, chunkEvents, fixtureText } from './testing/openai-fixtures.js';

type Events = readonly { event?: string; data: string }[];

async function run(provider: string, events: Events, model = 'requested-model'): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of fromOpenAIStream(async () => batchesOf(events), { provider, model }))
    out.push(event);
  return out;
}

const fold = (events: StreamEvent[]) =>
  collectStream(
    (async function* () {
      yield* events;
    })(),
  );

describe('fromOpenAIStream', () => {
  it('streams OpenAI text: start, deltas, the usage chunk’s usage, finish', async () => {
    expect(await run('openai', chunkEvents('openai-text.chunks.txt'))).toEqual([
      { type: 'start', id: 'chatcmpl-KH1stream000000000000000003', model: 'gpt-4.1-nano-2025-04-14' },
      { type: 'text-delta', delta: 'Keys' },
      { type: 'text-delta', delta: ' stay' },
      { type: 'text-delta', delta: ' home.' },
      { type: 'usage', usage: { inputTokens: 16, outputTokens: 3, totalTokens: 19 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('streams OpenAI parallel tool calls: argument pieces, a no-argument call closed with {}', async () => {
    const events = await run('openai', chunkEvents('openai-tool-calls.chunks.txt'));
    expect(events.filter((e) => e.type === 'tool-call-delta')).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'call_kh1weather000000000005',
        name: 'weather',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"ci' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'ty": "Oslo"}' },
      {
        type: 'tool-call-delta',
        index: 1,
        id: 'call_kh1clock00000000000006',
        name: 'clock',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
    ]);
    const result = await fold(events);
    expect(result.toolCalls).toEqual([
      { id: 'call_kh1weather000000000005', name: 'weather', arguments: '{"city": "Oslo"}' },
      { id: 'call_kh1clock00000000000006', name: 'clock', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toEqual({
      inputTokens: 2048,
      outputTokens: 41,
      totalTokens: 2089,
      cachedInputTokens: 1920,
    });
  });

  it('streams DeepSeek reasoning and incremental arguments, usage on the finish chunk', async () => {
    const events = await run('deepseek', chunkEvents('deepseek-tool-call.chunks.txt'));
    expect(events.filter((e) => e.type === 'tool-call-delta')).toHaveLength(4);
    const result = await fold(events);
    expect(result.reasoning).toBe('The user wants weather.');
    expect(result.toolCalls).toEqual([
      { id: 'call_00_kh1DeepSeekWeather01', name: 'weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(result.usage).toEqual({
      inputTokens: 400,
      outputTokens: 90,
      totalTokens: 490,
      cachedInputTokens: 320,
      reasoningTokens: 62,
    });
  });

  it('streams Groq: a whole tool call in one delta, usage from the finish chunk', async () => {
    const events = await run('groq', chunkEvents('groq-tool-call.chunks.txt'));
    expect(events.slice(1)).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'kh1groqcall1', name: 'clock', argumentsDelta: '{}' },
      { type: 'usage', usage: { inputTokens: 45, outputTokens: 12, totalTokens: 57 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it('streams Groq `reasoning` deltas with reasoning tokens in usage', async () => {
    const events = await run('groq', chunkEvents('groq-reasoning.chunks.txt'));
    expect(events.slice(1)).toEqual([
      { type: 'reasoning-delta', delta: 'Two plus' },
      { type: 'reasoning-delta', delta: ' two.' },
      { type: 'text-delta', delta: '4' },
      { type: 'usage', usage: { inputTokens: 17, outputTokens: 60, totalTokens: 77, reasoningTokens: 58 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('streams Mistral content arrays, and a whole tool call without type on the finish chunk', async () => {
    expect((await run('mistral', chunkEvents('mistral-reasoning.chunks.txt'))).slice(1)).toEqual([
      { type: 'reasoning-delta', delta: 'Simple sum.' },
      { type: 'text-delta', delta: '2 + 2 = 4' },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 30, totalTokens: 40 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const tool = await run('mistral', chunkEvents('mistral-tool-call.chunks.txt'));
    expect(tool.slice(1)).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'Kh1Mst7cd',
        name: 'weather',
        argumentsDelta: '{"city": "Lyon"}',
      },
      { type: 'usage', usage: { inputTokens: 124, outputTokens: 22, totalTokens: 146 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it('renumbers tool indices that start at 1 (raw SSE from a compatible server)', async () => {
    const raw = fixtureText('compat-tool-index-1.sse')
      .split('\n\n')
      .map((frame) => frame.trim())
      .filter(Boolean)
      .map((frame) => ({ data: frame.replace(/^data: /, '') }));
    const result = await fold(await run('openai-compatible', raw));
    expect(result.content).toBe('Let me check.');
    expect(result.toolCalls).toEqual([
      { id: 'toolu_kh1compat', name: 'weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(result.usage).toEqual({ inputTokens: 30, outputTokens: 20, totalTokens: 50 });
  });

  it('emits start before any delta even when a server sends no ids', async () => {
    const events = await run('ollama', [
      { data: '{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}' },
      { data: '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}' },
      { data: '[DONE]' },
    ]);
    expect(events).toEqual([
      { type: 'start', id: '', model: 'requested-model' },
      { type: 'text-delta', delta: 'hi' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('a body that ends with neither [DONE] nor a finish reason throws; a finish reason without [DONE] is complete', async () => {
    const all = chunkEvents('openai-text.chunks.txt', { done: false });
    const cut = await run('openai', all.slice(0, 3)).catch((e) => e);
    expect(cut).toBeInstanceOf(ProviderUnavailableError);
    expect(cut.message).toBe('openai stream ended before completion');
    expect((await run('openai', all)).at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('an error chunk mid-stream throws a typed error, after the deltas before it', async () => {
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const e of fromOpenAIStream(
        async () =>
          batchesOf([
            ...chunkEvents('openai-text.chunks.txt', { done: false }).slice(0, 2),
            {
              data: '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}',
            },
          ]),
        { provider: 'openai', model: 'm' },
      ))
        seen.push(e);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta']);
    const tooLong = await run('vllm', [
      {
        data: '{"object":"error","message":"This model\'s maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}',
      },
    ]).catch((e) => e);
    expect(tooLong).toBeInstanceOf(ContextLengthError);
  });

  it('a chunk that is not JSON is the provider’s fault', async () => {
    const error = await run('openai', [{ data: '{"id":' }]).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });
});
