import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  type AttemptInfo,
  ContextLengthError,
  collectStream,
  createEngine,
  createFakeAdapter,
  embed,
  generate,
  InvalidRequestError,
  isKeyholdError,
  ProviderUnavailableError,
  RateLimitError,
  Session,
  stream,
  TimeoutError,
} from './index.js';

const apiKey = 'fake-key-for-engine-tests-0001';
const ask = { messages: [{ role: 'user' as const, content: 'hello there' }] };

describe('generate', () => {
  it('returns the adapter result with the engine model', async () => {
    const engine = createEngine({ provider: 'fake', model: 'echo-1' });
    const result = await generate(engine, ask, { apiKey });
    expect(result).toMatchObject({ model: 'echo-1', content: 'You said: hello there', finishReason: 'stop' });
    expect(result.usage.totalTokens).toBe(result.usage.inputTokens + result.usage.outputTokens);
  });

  it('retries transient errors, honouring retry-after, and reports every attempt', async () => {
    const adapter = createFakeAdapter({
      script: [
        { error: { status: 429, retryAfterMs: 20 } },
        { error: { status: 503, retryAfterMs: 5 } },
        { text: 'third time' },
      ],
    });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const attempts: AttemptInfo[] = [];
    const started = Date.now();
    const result = await generate(engine, ask, { apiKey, onAttempt: (a) => attempts.push(a) });
    expect(result.content).toBe('third time');
    expect(Date.now() - started).toBeGreaterThanOrEqual(24);
    expect(attempts.map((a) => a.error?.code)).toEqual([
      'rate_limit_error',
      'provider_unavailable',
      undefined,
    ]);
    expect(attempts.map((a) => a.keySource)).toEqual(['call', 'call', 'call']);
  });

  it('does not retry permanent errors', async () => {
    const adapter = createFakeAdapter({
      script: [{ error: { status: 400, contextLength: true } }, { text: 'never' }],
    });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const error = await generate(engine, ask, { apiKey }).catch((e) => e);
    expect(error).toBeInstanceOf(ContextLengthError);
    expect(error.transient).toBe(false);
    expect(adapter.calls).toHaveLength(1);
  });

  it('gives up after maxRetries with the last error', async () => {
    const adapter = createFakeAdapter({ script: [{ error: { status: 500, retryAfterMs: 1 } }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const error = await generate(engine, ask, { apiKey, maxRetries: 3 }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(adapter.calls).toHaveLength(4);
  });

  it('times out an attempt with a TimeoutError', async () => {
    const adapter = createFakeAdapter({ script: [{ text: 'slow', delayMs: 500 }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const error = await generate(engine, ask, { apiKey, timeoutMs: 20, maxRetries: 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.transient).toBe(true);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    const adapter = createFakeAdapter({ script: [{ text: 'slow', delayMs: 500 }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    const error = await generate(engine, ask, { apiKey, signal: controller.signal }).catch((e) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(adapter.calls).toHaveLength(1);
  });

  it('rejects an unknown provider with a typed error', () => {
    expect(() => createEngine({ provider: 'nope', model: 'm' })).toThrow(InvalidRequestError);
  });
});

describe('stream', () => {
  it('yields start, deltas, usage and finish, and folds into the same result as generate', async () => {
    const script = [{ text: 'one two three', toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] }];
    const engine = createEngine({ provider: 'fake', model: 'm', adapter: createFakeAdapter({ script }) });
    const events = [];
    for await (const event of stream(engine, ask, { apiKey })) events.push(event);
    expect(events[0]?.type).toBe('start');
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { delta: string }).delta)).toEqual([
      'one ',
      'two ',
      'three',
    ]);
    const engine2 = createEngine({ provider: 'fake', model: 'm', adapter: createFakeAdapter({ script }) });
    const folded = await collectStream(stream(engine2, ask, { apiKey }));
    expect(folded).toMatchObject({
      content: 'one two three',
      toolCalls: [{ id: 'call_fake_0', name: 'lookup', arguments: '{"q":"x"}' }],
      finishReason: 'tool_calls',
    });
  });

  it('retries a stream that fails before its first event, never after', async () => {
    const adapter = createFakeAdapter({
      script: [{ error: { status: 503, retryAfterMs: 1 } }, { text: 'ok now' }],
    });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const result = await collectStream(stream(engine, ask, { apiKey }));
    expect(result.content).toBe('ok now');
    expect(adapter.calls).toHaveLength(2);
  });

  it('propagates an abort mid-stream', async () => {
    const adapter = createFakeAdapter({ script: [{ text: 'a b c d e f g', chunkDelayMs: 20 }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of stream(engine, ask, { apiKey, signal: controller.signal })) {
        if (event.type === 'text-delta') {
          seen.push(event.delta);
          if (seen.length === 2) controller.abort();
        }
      }
    })().catch((e) => e);
    expect(isKeyholdError(error) && error.code).toBe('aborted');
    expect(seen.length).toBeLessThan(7);
  });

  it('surfaces a rate limit as RateLimitError with retryAfterMs when retries are off', async () => {
    const adapter = createFakeAdapter({ script: [{ error: { status: 429, retryAfterMs: 1234 } }] });
    const engine = createEngine({ provider: 'fake', model: 'm', adapter });
    const error = await collectStream(stream(engine, ask, { apiKey, maxRetries: 0 })).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(1234);
  });
});

describe('embed', () => {
  it('embeds each input in order', async () => {
    const engine = createEngine({ provider: 'fake', model: 'embed-1' });
    const result = await embed(engine, { input: ['a', 'b', 'a'], dimensions: 4 }, { apiKey });
    expect(result.embeddings).toHaveLength(3);
    expect(result.embeddings[0]).toHaveLength(4);
    expect(result.embeddings[0]).toEqual(result.embeddings[2]);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
  });
});

describe('Session', () => {
  it('keeps the conversation, not the key', async () => {
    const engine = createEngine({ provider: 'fake', model: 'm' });
    const chat = new Session(engine, { system: 'be brief' });
    await chat.start('first', { apiKey });
    const second = await chat.reply('second', { apiKey });
    expect(second.content).toBe('You said: second');
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
    expect(JSON.stringify(chat)).not.toContain(apiKey.slice(0, 8));
    await expect(chat.reply('third')).rejects.toMatchObject({ code: 'authentication_error' });
  });

  it('continues after tool results', async () => {
    const adapter = createFakeAdapter({
      script: [
        { toolCalls: [{ id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }] },
        { text: 'It is cold' },
      ],
    });
    const chat = new Session(createEngine({ provider: 'fake', model: 'm', adapter }));
    const first = await chat.start('weather?', { apiKey });
    expect(first.finishReason).toBe('tool_calls');
    const answer = await chat.continue([{ toolCallId: 'c1', name: 'weather', content: '{"temp":-3}' }], {
      apiKey,
    });
    expect(answer.content).toBe('It is cold');
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });
});
