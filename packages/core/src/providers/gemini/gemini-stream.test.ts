import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { sendJson, sendSse, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { collectStream } from '../../collect-stream.js';
import { createEngine, stream } from '../../engine.js';
import { AuthenticationError, ProviderUnavailableError, RateLimitError } from '../../errors.js';
import type { StreamEvent } from '../../types/index.js';
import { geminiChunks, geminiFixture } from './testing/gemini-fixtures.js';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream((_req, res) => sendJson(res, 500, {}));
});
afterAll(async () => {
  await upstream.close();
});

const engine = () =>
  createEngine({ provider: 'gemini', model: 'gemini-2.5-flash', options: { baseURL: upstream.url } });

async function events(apiKey = 'AIza-k'): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of stream(
    engine(),
    { messages: [{ role: 'user', content: 'x' }] },
    { apiKey, maxRetries: 0 },
  )) {
    out.push(event);
  }
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read fields of several error classes.
async function failure(apiKey = 'AIza-k'): Promise<any> {
  return events(apiKey).then(
    () => {
      throw new Error('the stream should have failed');
    },
    (error) => error,
  );
}

/** Serves these chunks as Gemini does: `data: <json>` events, no `[DONE]`. */
function serve(chunks: { data: string }[], options: Parameters<typeof sendSse>[2] = {}) {
  upstream.handle((_req, res) => sendSse(res, chunks, options));
}

describe('streams', () => {
  for (const separator of ['\n\n', '\r\n\r\n']) {
    it(`text in increments, cumulative usage once at the end, finish last (${JSON.stringify(separator)})`, async () => {
      serve(geminiChunks('gemini-text.chunks.txt'), { separator });
      expect(await events()).toEqual([
        { type: 'start', id: 'kH9PaZ2rBeqYxs0Ps_ug8Qw', model: 'gemini-2.5-flash' },
        { type: 'text-delta', delta: 'The capital' },
        { type: 'text-delta', delta: ' of France is' },
        { type: 'text-delta', delta: ' Paris.' },
        {
          type: 'usage',
          usage: {
            inputTokens: 2100,
            cachedInputTokens: 2048,
            outputTokens: 104,
            reasoningTokens: 96,
            totalTokens: 2204,
          },
        },
        { type: 'finish', finishReason: 'stop' },
      ]);
    });
  }

  it('whole function calls (with and without arguments) end as tool_calls', async () => {
    serve(geminiChunks('gemini-tool-call.chunks.txt'));
    expect(await events()).toEqual([
      { type: 'start', id: 'c36LacjwM668nsEP2tbsgQQ', model: 'gemini-2.5-flash' },
      { type: 'text-delta', delta: 'Checking the weather.' },
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'call_0',
        name: 'get_weather',
        argumentsDelta: '{"city":"Lyon","units":"celsius"}',
      },
      { type: 'tool-call-delta', index: 1, id: 'call_1', name: 'get_time', argumentsDelta: '{}' },
      { type: 'usage', usage: { inputTokens: 40, outputTokens: 51, reasoningTokens: 30, totalTokens: 91 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it('thought summaries as reasoning deltas', async () => {
    serve(geminiChunks('gemini-reasoning.chunks.txt'));
    const result = await collectStream(
      stream(engine(), { messages: [{ role: 'user', content: 'x' }] }, { apiKey: 'AIza-k' }),
    );
    expect(result).toEqual({
      id: 'dX6LadKVC7SZ28oPr9yJoQs',
      model: 'gemini-3-pro-preview',
      content: "There are **3** r's in strawberry.",
      reasoning: '**Spelling it out**\n\nS-T-R-A-W-B-E-R-R-Y. Three of those letters are r.\n',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 9, outputTokens: 285, reasoningTokens: 256, totalTokens: 294 },
    });
  });

  it('Vertex streamed function-call arguments are assembled and emitted when the call closes', async () => {
    serve(geminiChunks('vertex-streamed-args.chunks.txt'));
    const all = await events();
    expect(all.filter((e) => e.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_0', name: 'read_theme', argumentsDelta: '{}' },
      { type: 'tool-call-delta', index: 1, id: 'call_1', name: 'get_forecast', argumentsDelta: '' },
      {
        type: 'tool-call-delta',
        index: 1,
        argumentsDelta:
          '{"location":"San Francisco","days":3,"options":{"metric":true,"tags":["wind"]},"note":null}',
      },
    ]);
    // Usage counts arrive only on the last Vertex chunk (earlier ones carry just trafficType).
    expect(all.filter((e) => e.type === 'usage')).toEqual([
      {
        type: 'usage',
        usage: { inputTokens: 249, outputTokens: 241, reasoningTokens: 183, totalTokens: 490 },
      },
    ]);
    expect(all.find((e) => e.type === 'reasoning-delta')).toBeDefined();
    expect(all.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('a streamed call still open when the answer finishes is closed with what arrived', async () => {
    const chunks = geminiChunks('vertex-streamed-args.chunks.txt');
    // Drop the closing `{}` part: the finishing chunk ends the call.
    serve([...chunks.slice(0, 7), chunks[8]!]);
    const result = await collectStream(
      stream(engine(), { messages: [{ role: 'user', content: 'x' }] }, { apiKey: 'AIza-k' }),
    );
    expect(JSON.parse(result.toolCalls[1]!.arguments)).toMatchObject({ location: 'San Francisco', days: 3 });
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['OTHER', 'other'],
  ])('finishReason %s → %s', async (reason, expected) => {
    const chunks = geminiChunks('gemini-text.chunks.txt').map(({ data }) => ({
      data: data.replace('"finishReason":"STOP"', `"finishReason":"${reason}"`),
    }));
    serve(chunks);
    expect((await events()).at(-1)).toEqual({ type: 'finish', finishReason: expected });
  });

  it('a prompt blocked before generation ends the stream with content_filter', async () => {
    serve([{ data: JSON.stringify(geminiFixture('gemini-blocked-prompt.json')) }]);
    expect(await events()).toEqual([
      { type: 'start', id: 'cYFPadbuJ8yTxs0Pw7Lq-Ao', model: 'gemini-2.5-flash' },
      { type: 'usage', usage: { inputTokens: 14, outputTokens: 0, totalTokens: 14 } },
      { type: 'finish', finishReason: 'content_filter' },
    ]);
  });

  it('leaving the loop early releases the upstream connection', async () => {
    const many = Array.from({ length: 200 }, () => geminiChunks('gemini-text.chunks.txt')[0]!);
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    upstream.handle((_req, res) => {
      res.on('close', () => closed());
      return sendSse(res, many, { delayMs: 20 });
    });
    for await (const event of stream(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    )) {
      if (event.type === 'text-delta') break;
    }
    await expect(
      Promise.race([
        connectionClosed.then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('open'), 2000)),
      ]),
    ).resolves.toBe('closed');
  });
});

describe('stream failures', () => {
  it('a connection cut mid-way throws ProviderUnavailableError after the events that arrived', async () => {
    // The delay lets the first events reach us before the socket is destroyed.
    serve(geminiChunks('gemini-text.chunks.txt'), { cutAfter: 2, delayMs: 10 });
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of stream(
        engine(),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: 'AIza-k', maxRetries: 0 },
      )) {
        seen.push(event);
      }
    })().catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('gemini stream ended before completion');
    expect(error.transient).toBe(true);
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta']);
  });

  it('a body that ends cleanly but without a finishReason is a cut stream too', async () => {
    serve(geminiChunks('gemini-text.chunks.txt').slice(0, 3));
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('gemini stream ended before completion');
  });

  it('an empty 200 body is a cut stream', async () => {
    serve([]);
    expect(await failure()).toBeInstanceOf(ProviderUnavailableError);
  });

  it('an error event in the stream becomes the matching typed error, with no key in it', async () => {
    const key = canaryKey('AIza');
    const overloaded = geminiFixture('gemini-503-unavailable.json');
    overloaded.error.message += ` ?key=${key}`;
    serve([geminiChunks('gemini-text.chunks.txt')[0]!, { data: JSON.stringify(overloaded) }]);
    const unavailable = await failure(key);
    expect(unavailable).toBeInstanceOf(ProviderUnavailableError);
    expect(unavailable.upstreamStatus).toBe(503);
    expect(unavailable.providerCode).toBe('UNAVAILABLE');
    expectNoKeyIn(allRenderings(unavailable), key);

    serve([{ data: JSON.stringify(geminiFixture('gemini-429-retry-info.json')) }]);
    const limited = await failure();
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.retryAfterMs).toBe(37_000);

    const badKey = geminiFixture('gemini-400-api-key-invalid.json');
    serve([{ data: JSON.stringify(badKey) }]);
    expect(await failure()).toBeInstanceOf(AuthenticationError);
  });

  it('an event that is not JSON fails the stream', async () => {
    serve([geminiChunks('gemini-text.chunks.txt')[0]!, { data: '{"candidates": [' }]);
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });

  it('unreadable streamed argument paths fail the stream instead of losing arguments', async () => {
    const chunks = geminiChunks('vertex-streamed-args.chunks.txt').map(({ data }) => ({
      data: data.replace('"$.location"', '"$..location"'),
    }));
    serve(chunks);
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });
});
