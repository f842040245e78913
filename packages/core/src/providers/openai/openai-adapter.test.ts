import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import {
  AuthenticationError,
  ContextLengthError,
  collectStream,
  createEngine,
  embed,
  generate,
  ProviderUnavailableError,
  RateLimitError,
  type StreamEvent,
  stream,
} from '../../index.js';
import {
  chunkEvents,
  completionWithText,
  fixtureJson,
  fixtureText,
  replyOpenAI401,
  sendJson,
  serveChunks,
} from './testing/openai-fixtures.js';

const lastUserText = (req: RecordedRequest): string => {
  const messages = req.body?.messages ?? [];
  const last = [...messages].reverse().find((m: { role: string }) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
};
const bearer = (req: RecordedRequest) => req.headers.authorization?.replace(/^Bearer /, '');

describeAdapterContract(
  {
    provider: 'openai',
    model: 'gpt-4.1-nano',
    keyPrefix: 'sk-proj',
    engineOptions: (url) => ({ baseURL: `${url}/v1` }),
    material: (key) => key,
    env: (key) => ({ OPENAI_API_KEY: key }),
    keyOf: bearer,
    replyText: (_req, res, text) => sendJson(res, 200, completionWithText(text)),
    replyUnauthorized: (_req, res, key) => replyOpenAI401(res, key),
  },
  lastUserText,
);

describeAdapterContract(
  {
    provider: 'mistral',
    model: 'mistral-large-latest',
    engineOptions: (url) => ({ baseURL: `${url}/v1` }),
    material: (key) => key,
    env: (key) => ({ MISTRAL_API_KEY: key }),
    keyOf: bearer,
    replyText: (_req, res, text) => {
      const body = fixtureJson('mistral-tool-call.json');
      body.choices[0].message = { role: 'assistant', content: text, tool_calls: null };
      body.choices[0].finish_reason = 'stop';
      sendJson(res, 200, body);
    },
    replyUnauthorized: (_req, res) => sendJson(res, 401, { detail: 'Unauthorized' }),
  },
  lastUserText,
);

describeAdapterContract(
  {
    provider: 'azure',
    model: 'gpt-4o',
    engineOptions: (url) => ({ endpoint: url, deployment: 'chat-prod', apiVersion: '2024-10-21' }),
    material: (key) => key,
    env: (key, url) => ({
      AZURE_OPENAI_API_KEY: key,
      AZURE_OPENAI_ENDPOINT: url,
      OPENAI_API_VERSION: '2024-10-21',
      AZURE_OPENAI_DEPLOYMENT: 'chat-prod',
    }),
    keyOf: (req) => (req.headers['api-key'] as string | undefined) ?? undefined,
    replyText: (_req, res, text) => sendJson(res, 200, completionWithText(text, 'gpt-4o-2024-11-20')),
    replyUnauthorized: (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(fixtureText('azure-401.json'));
    },
  },
  lastUserText,
);

const richRequest = {
  messages: [
    { role: 'system' as const, content: 'You are terse.' },
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'What is in this picture, and the weather?' },
        { type: 'image' as const, url: 'https://example.com/cat.png', detail: 'low' as const },
        { type: 'image' as const, data: 'iVBORw0KGgo=', mediaType: 'image/png' },
      ],
      name: 'alice',
    },
    {
      role: 'assistant' as const,
      content: null,
      toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' }],
    },
    { role: 'tool' as const, toolCallId: 'call_1', name: 'weather', content: '{"temp":-3}' },
  ],
  tools: [
    {
      name: 'weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: true,
    },
  ],
  toolChoice: { name: 'weather' },
  parallelToolCalls: false,
  temperature: 0.2,
  topP: 0.9,
  maxTokens: 300,
  stop: ['END'],
  seed: 7,
  user: 'end-user-42',
  responseFormat: {
    type: 'json_schema' as const,
    name: 'answer',
    schema: { type: 'object', properties: { text: { type: 'string' } } },
    strict: true,
  },
};

describe('OpenAI wire format', () => {
  let upstream: Upstream;
  const key = canaryKey('sk-proj');
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 200, fixtureJson('openai-text.json')));
  });
  afterAll(() => upstream.close());
  const engine = (provider = 'openai', model = 'gpt-4.1-nano') =>
    createEngine({ provider, model, options: { baseURL: `${upstream.url}/v1` } });

  it('sends a rich request field by field, with the key only in the Authorization header', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('openai-text.json')));
    await generate(engine(), richRequest, {
      apiKey: key,
      headers: { 'x-trace': 't1', Authorization: 'Bearer other' },
    });
    const req = upstream.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${key}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-trace']).toBe('t1');
    expect(req.body).toEqual({
      model: 'gpt-4.1-nano',
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          name: 'alice',
          content: [
            { type: 'text', text: 'What is in this picture, and the weather?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":-3}' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'weather',
            description: 'Current weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            strict: true,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 300,
      stop: ['END'],
      seed: 7,
      user: 'end-user-42',
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          schema: { type: 'object', properties: { text: { type: 'string' } } },
          strict: true,
        },
      },
    });
  });

  it('uses max_tokens for the compatible family and asks for stream usage where supported', async () => {
    upstream.handle((_req, res) => serveChunks(res, 'groq-tool-call.chunks.txt'));
    await collectStream(
      stream(
        engine('groq', 'llama-3.3-70b-versatile'),
        { messages: [{ role: 'user', content: 'x' }], maxTokens: 5 },
        { apiKey: key },
      ),
    );
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    upstream.handle((_req, res) => serveChunks(res, 'mistral-reasoning.chunks.txt'));
    await collectStream(
      stream(
        engine('mistral', 'magistral-medium-2507'),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: key },
      ),
    );
    const mistralBody = upstream.requests.at(-1)!.body;
    expect(mistralBody.stream).toBe(true);
    expect(mistralBody).not.toHaveProperty('stream_options');
    upstream.handle((_req, res) => serveChunks(res, 'openai-text.chunks.txt'));
    await collectStream(
      stream(
        engine(),
        { messages: [{ role: 'user', content: 'x' }], responseFormat: { type: 'json' } },
        { apiKey: key },
      ),
    );
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      response_format: { type: 'json_object' },
      stream_options: { include_usage: true },
    });
  });

  it('reads text, cached and reasoning usage', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('openai-text.json')));
    const result = await generate(engine(), { messages: [{ role: 'user', content: 'hi' }] }, { apiKey: key });
    expect(result).toEqual({
      id: 'chatcmpl-KH1text0000000000000000000001',
      model: 'gpt-4.1-nano-2025-04-14',
      content: 'Keys stay with their owners.',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 21, outputTokens: 7, totalTokens: 28, cachedInputTokens: 16, reasoningTokens: 3 },
    });
  });

  it('reads tool calls, including Mistral’s without a type field', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('openai-tool-call.json')));
    const result = await generate(engine(), { messages: [{ role: 'user', content: 'hi' }] }, { apiKey: key });
    expect(result.content).toBeNull();
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([
      { id: 'call_kh1weather000000000001', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_kh1clock00000000000002', name: 'clock', arguments: '{}' },
    ]);
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('mistral-tool-call.json')));
    const mistral = await generate(
      engine('mistral', 'mistral-large-latest'),
      { messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: key },
    );
    expect(mistral.toolCalls).toEqual([{ id: 'Kh1Mst9ab', name: 'weather', arguments: '{"city": "Paris"}' }]);
    expect(mistral.usage).toEqual({ inputTokens: 90, outputTokens: 22, totalTokens: 112 });
  });

  it('sends no Authorization header to a keyless Ollama', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, completionWithText('local', 'llama3.2')));
    const ollama = createEngine({
      provider: 'ollama',
      model: 'llama3.2',
      options: { baseURL: `${upstream.url}/v1` },
    });
    const result = await generate(ollama, { messages: [{ role: 'user', content: 'hi' }] });
    expect(result.content).toBe('local');
    expect(upstream.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('embeds, in input order whatever order the data came in', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('embedding.json')));
    const e = createEngine({
      provider: 'openai',
      model: 'text-embedding-3-small',
      options: { baseURL: `${upstream.url}/v1` },
    });
    const result = await embed(e, { input: ['first', 'second'], dimensions: 5, user: 'u1' }, { apiKey: key });
    const req = upstream.requests.at(-1)!;
    expect(req.url).toBe('/v1/embeddings');
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
    expect(result.usage.inputTokens).toBe(9);
  });
});

describe('OpenAI streams', () => {
  let upstream: Upstream;
  const key = canaryKey('sk-proj');
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => serveChunks(res, 'openai-text.chunks.txt'));
  });
  afterAll(() => upstream.close());
  const run = async (provider: string, fixture: string, options: Parameters<typeof serveChunks>[2] = {}) => {
    upstream.handle((_req, res) => serveChunks(res, fixture, options));
    const events: StreamEvent[] = [];
    const options2 =
      provider === 'azure'
        ? { endpoint: upstream.url, deployment: 'd1', apiVersion: '2024-10-21' }
        : { baseURL: `${upstream.url}/v1` };
    const e = createEngine({ provider, model: 'm', options: options2 });
    for await (const event of stream(
      e,
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: key, maxRetries: 0 },
    )) {
      events.push(event);
    }
    return events;
  };

  it('streams OpenAI text with the usage chunk last', async () => {
    const events = await run('openai', 'openai-text.chunks.txt');
    expect(events).toEqual([
      { type: 'start', id: 'chatcmpl-KH1stream000000000000000003', model: 'gpt-4.1-nano-2025-04-14' },
      { type: 'text-delta', delta: 'Keys' },
      { type: 'text-delta', delta: ' stay' },
      { type: 'text-delta', delta: ' home.' },
      { type: 'usage', usage: { inputTokens: 16, outputTokens: 3, totalTokens: 19 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('streams DeepSeek reasoning and incremental tool-call arguments with cached usage', async () => {
    const events = await run('deepseek', 'deepseek-tool-call.chunks.txt');
    const { collectStream: fold } = await import('../../collect-stream.js');
    const result = await fold(
      (async function* () {
        yield* events;
      })(),
    );
    expect(result.reasoning).toBe('The user wants weather.');
    expect(result.toolCalls).toEqual([
      { id: 'call_00_kh1DeepSeekWeather01', name: 'weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toEqual({
      inputTokens: 400,
      outputTokens: 90,
      totalTokens: 490,
      cachedInputTokens: 320,
      reasoningTokens: 62,
    });
    expect(events.filter((e) => e.type === 'tool-call-delta')).toHaveLength(4);
  });

  it('streams a Groq whole tool call with usage from x_groq', async () => {
    const events = await run('groq', 'groq-tool-call.chunks.txt');
    expect(events.filter((e) => e.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'kh1groqcall1', name: 'clock', argumentsDelta: '{}' },
    ]);
    expect(events.at(-2)).toEqual({
      type: 'usage',
      usage: { inputTokens: 45, outputTokens: 12, totalTokens: 57 },
    });
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('streams Mistral content arrays into reasoning and text, usage on the finish chunk', async () => {
    const events = await run('mistral', 'mistral-reasoning.chunks.txt');
    expect(events.filter((e) => e.type !== 'start')).toEqual([
      { type: 'reasoning-delta', delta: 'Simple sum.' },
      { type: 'text-delta', delta: '2 + 2 = 4' },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 30, totalTokens: 40 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('skips Azure’s empty first chunk and reports a content filter', async () => {
    const events = await run('azure', 'azure-chat.chunks.txt');
    expect(events[0]).toEqual({
      type: 'start',
      id: 'chatcmpl-KH1azure00000000000000000004',
      model: 'gpt-4o-2024-11-20',
    });
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'content_filter' });
    expect(upstream.requests.at(-1)!.url).toBe(
      '/openai/deployments/d1/chat/completions?api-version=2024-10-21',
    );
    expect(upstream.requests.at(-1)!.headers['api-key']).toBe(key);
    expect(upstream.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('renumbers tool indices that start at 1 (raw SSE from a compatible server)', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(fixtureText('compat-tool-index-1.sse'));
    });
    const e = createEngine({
      provider: 'openai-compatible',
      model: 'claude-via-compat',
      options: { baseURL: `${upstream.url}/v1` },
    });
    const result = await collectStream(
      stream(e, { messages: [{ role: 'user', content: 'x' }] }, { apiKey: key }),
    );
    expect(result.content).toBe('Let me check.');
    expect(result.toolCalls).toEqual([
      { id: 'toolu_kh1compat', name: 'weather', arguments: '{"city":"Rome"}' },
    ]);
  });

  it('a stream cut mid-way is a ProviderUnavailableError, not a quiet end', async () => {
    const error = await run('openai', 'openai-text.chunks.txt', { cutAfter: 3 }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    const cleanEnd = await run('openai', 'openai-text.chunks.txt', { done: false, cutAfter: undefined }).then(
      (events) => events.at(-1),
      (e) => e,
    );
    // Without [DONE] but with a finish reason the stream is complete.
    expect(cleanEnd).toEqual({ type: 'finish', finishReason: 'stop' });
    upstream.handle((_req, res) => {
      const events = chunkEvents('openai-text.chunks.txt', { done: false }).slice(0, 3);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(events.map((e) => `data: ${e.data}\n\n`).join(''));
    });
    const e = createEngine({ provider: 'openai', model: 'm', options: { baseURL: `${upstream.url}/v1` } });
    const ended = await collectStream(
      stream(e, { messages: [{ role: 'user', content: 'x' }] }, { apiKey: key, maxRetries: 0 }),
    ).catch((err) => err);
    expect(ended).toBeInstanceOf(ProviderUnavailableError);
    expect(ended.message).toMatch(/ended before completion/);
  });

  it('maps an in-stream error event to a typed error', async () => {
    upstream.handle((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/event-stream' })
        .end(
          `data: ${chunkEvents('openai-text.chunks.txt')[0]!.data}\n\ndata: {"error":{"message":"Rate limit reached for ${key}","type":"rate_limit_error","code":"rate_limit_exceeded"}}\n\n`,
        );
    });
    const e = createEngine({ provider: 'openai', model: 'm', options: { baseURL: `${upstream.url}/v1` } });
    const error = await collectStream(
      stream(e, { messages: [{ role: 'user', content: 'x' }] }, { apiKey: key, maxRetries: 0 }),
    ).catch((err) => err);
    expect(error).toBeInstanceOf(RateLimitError);
    expectNoKeyIn(allRenderings(error), key);
  });
});

describe('OpenAI errors', () => {
  let upstream: Upstream;
  const key = canaryKey('sk-proj');
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 500, fixtureJson('openai-500.json')));
  });
  afterAll(() => upstream.close());
  const call = () =>
    generate(
      createEngine({ provider: 'openai', model: 'm', options: { baseURL: `${upstream.url}/v1` } }),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: key, maxRetries: 0 },
    ).catch((e) => e);

  it('401 echoing the key → AuthenticationError with no key fragment', async () => {
    upstream.handle((_req, res) => replyOpenAI401(res, key));
    const error = await call();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.providerCode).toBe('invalid_api_key');
    expectNoKeyIn(allRenderings(error), key);
  });

  it('429 with retry-after-ms and retry-after → RateLimitError.retryAfterMs', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 429, fixtureJson('openai-429.json'), {
        'retry-after': '1',
        'retry-after-ms': '120',
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '0',
      }),
    );
    const error = await call();
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(120);
    expect(error.transient).toBe(true);
    expect(error.providerCode).toBe('rate_limit_exceeded');
  });

  it('400 context_length_exceeded → ContextLengthError', async () => {
    upstream.handle((_req, res) => sendJson(res, 400, fixtureJson('openai-context-length.json')));
    const error = await call();
    expect(error).toBeInstanceOf(ContextLengthError);
    expect(error.transient).toBe(false);
  });

  it('500 → transient ProviderUnavailableError, retried then successful', async () => {
    upstream.handle((_req, res) => sendJson(res, 500, fixtureJson('openai-500.json')));
    const error = await call();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
    let n = 0;
    upstream.handle((_req, res) =>
      n++ === 0
        ? sendJson(res, 503, fixtureJson('openai-500.json'), { 'retry-after-ms': '5' })
        : sendJson(res, 200, completionWithText('ok')),
    );
    const before = upstream.requests.length;
    const result = await generate(
      createEngine({ provider: 'openai', model: 'm', options: { baseURL: `${upstream.url}/v1` } }),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: key },
    );
    expect(result.content).toBe('ok');
    expect(upstream.requests.length - before).toBe(2);
  });
});

describe('OpenAI translation round trip', () => {
  it('tool call → tool result → answer, each turn’s wire body built from the last result', async () => {
    let turn = 0;
    const upstream = await startUpstream((req, res) => {
      turn++;
      if (turn === 1) return sendJson(res, 200, fixtureJson('openai-tool-call.json'));
      // The second turn must carry the assistant tool calls and both results back.
      const messages = req.body.messages;
      const tools = messages.filter((m: { role: string }) => m.role === 'tool');
      sendJson(
        res,
        200,
        completionWithText(`got ${tools.map((t: { tool_call_id: string }) => t.tool_call_id).join(',')}`),
      );
    });
    try {
      const e = createEngine({
        provider: 'openai',
        model: 'gpt-4.1-mini',
        options: { baseURL: `${upstream.url}/v1` },
      });
      const key = canaryKey('sk-proj');
      const messages: Parameters<typeof generate>[1]['messages'] = [
        { role: 'user', content: 'weather and time?' },
      ];
      const first = await generate(e, { messages }, { apiKey: key });
      messages.push({ role: 'assistant', content: first.content, toolCalls: first.toolCalls });
      for (const call of first.toolCalls)
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: '"ok"' });
      const second = await generate(e, { messages }, { apiKey: key });
      expect(second.content).toBe('got call_kh1weather000000000001,call_kh1clock00000000000002');
      expect(upstream.requests[1]!.body.messages[1]).toEqual({
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_kh1weather000000000001',
            type: 'function',
            function: { name: 'weather', arguments: '{"city":"Oslo"}' },
          },
          {
            id: 'call_kh1clock00000000000002',
            type: 'function',
            function: { name: 'clock', arguments: '{}' },
          },
        ],
      });
    } finally {
      await upstream.close();
    }
  });
});
