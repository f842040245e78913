import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import {
  AuthenticationError,
  ContextLengthError,
  collectStream,
  createEngine,
  embed,
  generate,
  InvalidRequestError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  type StreamEvent,
  stream,
} from '../../index.js';
import { createOpenAIAdapter } from './openai-adapter.js';
import {
  chunkEvents,
  completionWithText,
  fixtureJson,
  replyFixture,
  replyOpenAI401,
  sendJson,
  serveChunks,
} from './testing/openai-fixtures.js';
import {
  richRequest,
  richWireMessages,
  richWireResponseFormat,
  richWireTools,
} from './testing/rich-request.js';

const { model: _model, ...richInput } = richRequest;
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('OpenAI adapter over HTTP', () => {
  let upstream: Upstream;
  const key = canaryKey('sk-proj');
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 200, fixtureJson('openai-text.json')));
  });
  afterAll(() => upstream.close());
  const engine = (model = 'gpt-4.1-mini') =>
    createEngine({ provider: 'openai', model, options: { baseURL: `${upstream.url}/v1` } });
  const fail = (input = hi) => generate(engine(), input, { apiKey: key, maxRetries: 0 }).catch((e) => e);
  const failStream = (input = hi) =>
    collectStream(stream(engine(), input, { apiKey: key, maxRetries: 0 })).catch((e) => e);

  it('POSTs the rich request to /chat/completions, the key only in Authorization', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('openai-text.json')));
    await generate(engine(), richInput, {
      apiKey: key,
      headers: { 'x-trace': 't1', Authorization: 'Bearer someone-else', 'api-key': 'smuggled' },
    });
    const req = upstream.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${key}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['x-trace']).toBe('t1');
    expect(req.headers['api-key']).toBeUndefined();
    expect(req.rawBody.toString()).not.toContain(key);
    expect(req.body).toEqual({
      model: 'gpt-4.1-mini',
      messages: richWireMessages,
      tools: richWireTools,
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 300,
      stop: ['END'],
      seed: 7,
      user: 'end-user-42',
      response_format: richWireResponseFormat,
    });
  });

  it('streams with stream_options.include_usage and an SSE accept header', async () => {
    upstream.handle((_req, res) => serveChunks(res, 'openai-text.chunks.txt'));
    const result = await collectStream(stream(engine(), hi, { apiKey: key }));
    const req = upstream.requests.at(-1)!;
    expect(req.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(req.headers.accept).toBe('text/event-stream');
    expect(result.content).toBe('Keys stay home.');
    expect(result.usage).toEqual({ inputTokens: 16, outputTokens: 3, totalTokens: 19 });
  });

  it('a 401 that echoes the key → AuthenticationError with no key fragment, streamed or not', async () => {
    upstream.handle((_req, res) => replyOpenAI401(res, key));
    for (const error of [await fail(), await failStream()]) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.providerCode).toBe('invalid_api_key');
      expect(error.upstreamStatus).toBe(401);
      expectNoKeyIn(allRenderings(error), key);
    }
  });

  it('429 with retry-after-ms, retry-after and x-ratelimit-* → RateLimitError.retryAfterMs', async () => {
    const headers = {
      'retry-after': '2',
      'retry-after-ms': '1250',
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '120ms',
    };
    upstream.handle((_req, res) => replyFixture(res, 429, 'openai-429.json', headers));
    const error = await fail();
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(1250);
    expect(error.transient).toBe(true);
    expect(error.providerCode).toBe('rate_limit_exceeded');
    upstream.handle((_req, res) => replyFixture(res, 429, 'openai-429.json', { 'retry-after': '3' }));
    expect((await failStream()).retryAfterMs).toBe(3000);
  });

  it('429 insufficient_quota → permanent PermissionError, not retried', async () => {
    upstream.handle((_req, res) => replyFixture(res, 429, 'openai-insufficient-quota.json'));
    const before = upstream.requests.length;
    const error = await generate(engine(), hi, { apiKey: key, maxRetries: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.transient).toBe(false);
    expect(upstream.requests.length - before).toBe(1);
  });

  it('400 context_length_exceeded → ContextLengthError; 400 unsupported_parameter → InvalidRequestError', async () => {
    upstream.handle((_req, res) => replyFixture(res, 400, 'openai-context-length.json'));
    const tooLong = await fail();
    expect(tooLong).toBeInstanceOf(ContextLengthError);
    expect(tooLong.transient).toBe(false);
    expect(tooLong.message).not.toContain('128000');
    upstream.handle((_req, res) => replyFixture(res, 400, 'openai-unsupported-parameter.json'));
    const invalid = await fail();
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect(invalid.providerCode).toBe('unsupported_parameter');
  });

  it('500 → transient ProviderUnavailableError; a 503 is retried, honouring retry-after-ms', async () => {
    upstream.handle((_req, res) => replyFixture(res, 500, 'openai-500.json'));
    const error = await fail();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
    let n = 0;
    upstream.handle((_req, res) =>
      n++ === 0
        ? replyFixture(res, 503, 'openai-500.json', { 'retry-after-ms': '5' })
        : sendJson(res, 200, completionWithText('ok')),
    );
    const before = upstream.requests.length;
    const result = await generate(engine(), hi, { apiKey: key });
    expect(result.content).toBe('ok');
    expect(upstream.requests.length - before).toBe(2);
  });

  it('a stream cut mid-way → ProviderUnavailableError after the deltas already sent', async () => {
    upstream.handle((_req, res) => serveChunks(res, 'openai-text.chunks.txt', { cutAfter: 3 }));
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const e of stream(engine(), hi, { apiKey: key, maxRetries: 0 })) seen.push(e);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('openai stream ended before completion');
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta']);
  });

  it('an in-stream error event → typed error with no key fragment', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        `data: ${chunkEvents('openai-text.chunks.txt')[0]!.data}\n\n` +
          `data: {"error":{"message":"Rate limit reached for key ${key}","type":"requests","code":"rate_limit_exceeded"}}\n\n`,
      );
    });
    const error = await failStream();
    expect(error).toBeInstanceOf(RateLimitError);
    expectNoKeyIn(allRenderings(error), key);
  });

  it('leaving the stream early releases the upstream connection', async () => {
    upstream.handle((_req, res) => serveChunks(res, 'openai-text.chunks.txt', { delayMs: 20 }));
    let cutShort = false;
    upstream.server.once('request', (_req, res) => res.on('close', () => (cutShort = !res.writableEnded)));
    for await (const event of stream(engine(), hi, { apiKey: key })) {
      if (event.type === 'text-delta') break;
    }
    await new Promise((r) => setTimeout(r, 60));
    expect(cutShort).toBe(true);
  });

  it('embeds: POST /embeddings, floats, vectors in input order, usage', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('embedding.json')));
    const e = engine('text-embedding-3-small');
    const result = await embed(e, { input: ['first', 'second'], dimensions: 5, user: 'u1' }, { apiKey: key });
    const req = upstream.requests.at(-1)!;
    expect(req.url).toBe('/v1/embeddings');
    expect(req.headers.authorization).toBe(`Bearer ${key}`);
    expect(req.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['first', 'second'],
      encoding_format: 'float',
      dimensions: 5,
      user: 'u1',
    });
    expect(result.embeddings).toEqual([
      [-0.0068, 0.0027, -0.0195, 0.0134, 0.0089],
      [0.0042, -0.0071, 0.0129, 0.0203, -0.031],
    ]);
    expect(result.usage).toEqual({ inputTokens: 9 });
  });

  it('an adapter called without a base URL for a provider that has no default fails with a typed error', async () => {
    const adapter = createOpenAIAdapter('vllm');
    const error = await adapter
      .generate(
        { model: 'm', ...hi },
        {
          credential: { provider: 'vllm', secrets: {}, fields: {} },
          transport: { request: () => Promise.reject(new Error('no network expected')) },
        },
      )
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
  });
});

describe('OpenAI translation round trips', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 200, fixtureJson('openai-tool-call.json')));
  });
  afterAll(() => upstream.close());

  it('tool calls → tool results → answer: each turn’s wire body is built from the last result', async () => {
    upstream.handle((req, res) => {
      const tools = req.body.messages.filter((m: { role: string }) => m.role === 'tool');
      if (tools.length === 0) return sendJson(res, 200, fixtureJson('openai-tool-call.json'));
      sendJson(
        res,
        200,
        completionWithText(`got ${tools.map((t: { tool_call_id: string }) => t.tool_call_id).join(',')}`),
      );
    });
    const e = createEngine({
      provider: 'openai',
      model: 'gpt-4.1-mini',
      options: { baseURL: `${upstream.url}/v1` },
    });
    const key = canaryKey('sk-proj');
    const messages: Parameters<typeof generate>[1]['messages'] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'weather and time?' },
          { type: 'image', url: 'https://x/y.png' },
        ],
      },
    ];
    const first = await generate(e, { messages }, { apiKey: key });
    expect(first.finishReason).toBe('tool_calls');
    messages.push({ role: 'assistant', content: first.content, toolCalls: first.toolCalls });
    for (const call of first.toolCalls)
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: '"ok"' });
    const second = await generate(e, { messages }, { apiKey: key });
    expect(second.content).toBe('got call_kh1weather000000000001,call_kh1clock00000000000002');
    expect(second.finishReason).toBe('stop');
    expect(second.usage).toEqual({
      inputTokens: 21,
      outputTokens: 7,
      totalTokens: 28,
      cachedInputTokens: 16,
      reasoningTokens: 3,
    });
    const wire = upstream.requests.at(-1)!.body.messages;
    expect(wire[0].content).toEqual([
      { type: 'text', text: 'weather and time?' },
      { type: 'image_url', image_url: { url: 'https://x/y.png' } },
    ]);
    expect(wire[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_kh1weather000000000001',
          type: 'function',
          function: { name: 'weather', arguments: '{"city":"Oslo"}' },
        },
        { id: 'call_kh1clock00000000000002', type: 'function', function: { name: 'clock', arguments: '{}' } },
      ],
    });
    expect(wire.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'call_kh1weather000000000001', content: '"ok"' },
      { role: 'tool', tool_call_id: 'call_kh1clock00000000000002', content: '"ok"' },
    ]);
  });

  it('a streamed tool-call turn folds into the same result as the unstreamed one', async () => {
    upstream.handle((_req, res) => serveChunks(res, 'openai-tool-calls.chunks.txt'));
    const e = createEngine({
      provider: 'openai',
      model: 'gpt-4.1-mini',
      options: { baseURL: `${upstream.url}/v1` },
    });
    const streamed = await collectStream(stream(e, hi, { apiKey: canaryKey('sk-proj') }));
    expect(streamed).toMatchObject({
      id: 'chatcmpl-KH1tools00000000000000000005',
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_kh1weather000000000005', name: 'weather', arguments: '{"city": "Oslo"}' },
        { id: 'call_kh1clock00000000000006', name: 'clock', arguments: '{}' },
      ],
      usage: { inputTokens: 2048, outputTokens: 41, totalTokens: 2089, cachedInputTokens: 1920 },
    });
  });
});
