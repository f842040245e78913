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
  ProviderUnavailableError,
  RateLimitError,
  type StreamEvent,
  stream,
} from '../../index.js';
import { fixturesIn, sendJson } from '../openai/testing/openai-fixtures.js';
import {
  richRequest,
  richWireMessages,
  richWireResponseFormat,
  richWireTools,
} from '../openai/testing/rich-request.js';
import { createAzureAdapter } from './azure-adapter.js';

const azure = fixturesIn(new URL('./__fixtures__/', import.meta.url));
const { model: _model, ...richInput } = richRequest;
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('Azure OpenAI adapter over HTTP', () => {
  let upstream: Upstream;
  const key = canaryKey('azk');
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => azure.reply(res, 200, 'azure-chat.json'));
  });
  afterAll(() => upstream.close());
  const engine = (options: { apiVersion?: string; deployment?: string; endpoint?: string } = {}) =>
    createEngine({
      provider: 'azure',
      model: 'gpt-4o',
      options: { endpoint: upstream.url, deployment: 'chat-prod', apiVersion: '2024-10-21', ...options },
    });
  const fail = () => generate(engine(), hi, { apiKey: key, maxRetries: 0 }).catch((e) => e);

  it('POSTs to /openai/deployments/{deployment}/chat/completions?api-version=…, the key only in api-key', async () => {
    upstream.handle((_req, res) => azure.reply(res, 200, 'azure-chat.json'));
    const result = await generate(engine(), richInput, {
      apiKey: key,
      headers: { Authorization: 'Bearer smuggled', 'API-Key': 'smuggled', 'x-ms-client-request-id': 'r1' },
    });
    const req = upstream.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21');
    expect(req.headers['api-key']).toBe(key);
    expect(req.headers.authorization).toBeUndefined();
    expect(req.headers['x-ms-client-request-id']).toBe('r1');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({
      model: 'gpt-4o',
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
    // Filter annotations are read past; cached usage is kept.
    expect(result).toEqual({
      id: 'chatcmpl-KH1azure00000000000000000001',
      model: 'gpt-4o-2024-11-20',
      content: 'Keys stay in the vault.',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1200, outputTokens: 6, totalTokens: 1206, cachedInputTokens: 1024 },
    });
  });

  it('tolerates an endpoint with a trailing slash or a pasted /openai', async () => {
    upstream.handle((_req, res) => azure.reply(res, 200, 'azure-chat.json'));
    await generate(engine({ endpoint: `${upstream.url}/openai/`, deployment: 'gpt-4o.eu_2' }), hi, {
      apiKey: key,
    });
    expect(upstream.requests.at(-1)!.url).toBe(
      '/openai/deployments/gpt-4o.eu_2/chat/completions?api-version=2024-10-21',
    );
  });

  it('streams past the empty prompt-filter chunk, with reasoning usage from the last chunk', async () => {
    upstream.handle((_req, res) => azure.serve(res, 'azure-chat.chunks.txt'));
    const events: StreamEvent[] = [];
    for await (const e of stream(engine(), hi, { apiKey: key })) events.push(e);
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(events).toEqual([
      { type: 'start', id: 'chatcmpl-KH1azure00000000000000000002', model: 'gpt-5-nano-2025-08-07' },
      { type: 'text-delta', delta: 'Hello' },
      { type: 'text-delta', delta: ' from Azure' },
      { type: 'usage', usage: { inputTokens: 15, outputTokens: 70, totalTokens: 85, reasoningTokens: 64 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('a completion stopped by the content filter mid-stream finishes with content_filter', async () => {
    upstream.handle((_req, res) => azure.serve(res, 'azure-filtered.chunks.txt'));
    const result = await collectStream(stream(engine(), hi, { apiKey: key }));
    expect(result.content).toBe('The story begins');
    expect(result.finishReason).toBe('content_filter');
  });

  it('old api-versions get max_tokens and no stream_options', async () => {
    upstream.handle((_req, res) => azure.serve(res, 'azure-chat.chunks.txt'));
    await collectStream(
      stream(engine({ apiVersion: '2024-02-01' }), { ...hi, maxTokens: 7 }, { apiKey: key }),
    );
    const req = upstream.requests.at(-1)!;
    expect(req.url).toBe('/openai/deployments/chat-prod/chat/completions?api-version=2024-02-01');
    expect(req.body).toEqual({ model: 'gpt-4o', messages: hi.messages, max_tokens: 7, stream: true });
  });

  it('401 "Access denied" → AuthenticationError with no key fragment', async () => {
    upstream.handle((_req, res) => azure.reply(res, 401, 'azure-401.json'));
    const error = await fail();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.upstreamStatus).toBe(401);
    expectNoKeyIn(allRenderings(error), key);
  });

  it('429 with retry-after and retry-after-ms → RateLimitError.retryAfterMs', async () => {
    upstream.handle((_req, res) =>
      azure.reply(res, 429, 'azure-429.json', {
        'retry-after': '6',
        'retry-after-ms': '6000',
        'x-ratelimit-remaining-tokens': '0',
      }),
    );
    const error = await fail();
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(6000);
    upstream.handle((_req, res) => azure.reply(res, 429, 'azure-429.json', { 'retry-after': '6' }));
    expect((await fail()).retryAfterMs).toBe(6000);
  });

  it('400 content_filter on the prompt → InvalidRequestError coded content_filter; context length → ContextLengthError', async () => {
    upstream.handle((_req, res) => azure.reply(res, 400, 'azure-content-filter.json'));
    const filtered = await fail();
    expect(filtered).toBeInstanceOf(InvalidRequestError);
    expect(filtered.providerCode).toBe('content_filter');
    expect(filtered.transient).toBe(false);
    upstream.handle((_req, res) => azure.reply(res, 400, 'azure-context-length.json'));
    expect(await fail()).toBeInstanceOf(ContextLengthError);
  });

  it('500 → transient ProviderUnavailableError; a stream cut mid-way throws', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 500, {
        error: { code: 'InternalServerError', message: 'Backend returned unexpected response.' },
      }),
    );
    const error = await fail();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
    upstream.handle((_req, res) => azure.serve(res, 'azure-chat.chunks.txt', { cutAfter: 3 }));
    const cut = await collectStream(stream(engine(), hi, { apiKey: key, maxRetries: 0 })).catch((e) => e);
    expect(cut).toBeInstanceOf(ProviderUnavailableError);
    expect(cut.message).toBe('azure stream ended before completion');
  });

  it('embeds through /openai/deployments/{deployment}/embeddings', async () => {
    upstream.handle((_req, res) => azure.reply(res, 200, 'azure-embedding.json'));
    const e = createEngine({
      provider: 'azure',
      model: 'text-embedding-3-small',
      options: { endpoint: upstream.url, deployment: 'embed-prod', apiVersion: '2024-10-21' },
    });
    const result = await embed(e, { input: ['a', 'b'], dimensions: 5 }, { apiKey: key });
    const req = upstream.requests.at(-1)!;
    expect(req.url).toBe('/openai/deployments/embed-prod/embeddings?api-version=2024-10-21');
    expect(req.headers['api-key']).toBe(key);
    expect(req.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
      dimensions: 5,
    });
    expect(result).toEqual({
      model: 'text-embedding-3-small',
      embeddings: [
        [0.0023, -0.0093, 0.0158, -0.0072, 0.0011],
        [-0.0117, 0.0051, 0.0026, 0.0189, -0.0044],
      ],
      usage: { inputTokens: 7 },
    });
  });

  it('an adapter called without a deployment fails with a typed error naming the field, before any request', async () => {
    const error = await createAzureAdapter('azure')
      .generate(
        { model: 'gpt-4o', ...hi },
        {
          credential: {
            provider: 'azure',
            secrets: {},
            fields: { endpoint: upstream.url, apiVersion: '2024-10-21' },
          },
          transport: { request: () => Promise.reject(new Error('no network expected')) },
        },
      )
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toContain('deployment');
  });

  it('round trip: tool calls and tool results through the deployment URL', async () => {
    upstream.handle((req, res) => {
      const tools = req.body.messages.filter((m: { role: string }) => m.role === 'tool');
      if (tools.length === 0) {
        const body = azure.json('azure-chat.json');
        body.choices[0].finish_reason = 'tool_calls';
        body.choices[0].message = {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_az1',
              type: 'function',
              function: { name: 'weather', arguments: '{"city":"Bergen"}' },
            },
          ],
        };
        return sendJson(res, 200, body);
      }
      const body = azure.json('azure-chat.json');
      body.choices[0].message.content = `result for ${tools[0].tool_call_id}: ${tools[0].content}`;
      sendJson(res, 200, body);
    });
    const messages: Parameters<typeof generate>[1]['messages'] = [
      { role: 'user', content: 'weather in Bergen?' },
    ];
    const first = await generate(engine(), { messages }, { apiKey: key });
    expect(first.toolCalls).toEqual([{ id: 'call_az1', name: 'weather', arguments: '{"city":"Bergen"}' }]);
    expect(first.finishReason).toBe('tool_calls');
    messages.push({ role: 'assistant', content: null, toolCalls: first.toolCalls });
    messages.push({ role: 'tool', toolCallId: 'call_az1', name: 'weather', content: 'rain' });
    const second = await generate(engine(), { messages }, { apiKey: key });
    expect(second.content).toBe('result for call_az1: rain');
  });
});
