import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import { canaryKey } from '../../../test/support/leaks.js';
import { sendJson, sendSse, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import {
  adapterFor,
  type ChatInput,
  collectStream,
  generate,
  InvalidRequestError,
  stream,
} from '../../index.js';
import {
  anthropicEngine,
  anthropicHarness,
  fixtureJson,
  lastUserText,
  MODEL,
  sendFixtureStream,
} from './testing/anthropic-upstream.js';
import { JSON_MODE_INSTRUCTION } from './to-anthropic-request.js';

describeAdapterContract(anthropicHarness, lastUserText);

const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** A request using every neutral field, in a conversation with a finished tool round. */
const RICH: ChatInput = {
  messages: [
    { role: 'system', content: 'You are a weather assistant.' },
    { role: 'system', content: 'Answer in one sentence.' },
    {
      role: 'user',
      name: 'ana',
      content: [
        { type: 'text', text: 'What is the weather here and in Lisbon?' },
        { type: 'image', url: `data:image/png;base64,${PNG_BASE64}`, detail: 'high' },
        { type: 'image', url: 'https://example.com/street.jpg' },
        { type: 'image', data: PNG_BASE64, mediaType: 'image/png' },
      ],
    },
    {
      role: 'assistant',
      content: 'Let me look both up.',
      toolCalls: [
        { id: 'toolu_01A', name: 'weather', arguments: '{"city":"Oslo"}' },
        { id: 'toolu_01B', name: 'weather', arguments: '{"city":"Lisbon","unit":"celsius"}' },
        { id: 'toolu_01C', name: 'localTime', arguments: '' },
      ],
    },
    { role: 'tool', toolCallId: 'toolu_01A', name: 'weather', content: '{"celsius":-3}' },
    { role: 'tool', toolCallId: 'toolu_01B', name: 'weather', content: '{"celsius":19}' },
    { role: 'tool', toolCallId: 'toolu_01C', name: 'localTime', content: '14:05' },
    { role: 'user', content: 'Thanks. Summarise.' },
  ],
  tools: [
    {
      name: 'weather',
      description: 'Current weather for a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city'],
      },
      strict: true,
    },
    { name: 'localTime', parameters: {} },
  ],
  toolChoice: 'required',
  parallelToolCalls: false,
  temperature: 0.3,
  maxTokens: 512,
  topP: 0.9,
  stop: ['END', '###'],
  responseFormat: {
    type: 'json_schema',
    name: 'summary',
    description: 'ignored by Anthropic',
    strict: true,
    schema: {
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
      additionalProperties: false,
    },
  },
  seed: 42,
  user: 'tenant-7:user-19',
};

const RICH_WIRE = {
  model: MODEL,
  max_tokens: 512,
  system: 'You are a weather assistant.\n\nAnswer in one sentence.',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is the weather here and in Lisbon?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/street.jpg' } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me look both up.' },
        { type: 'tool_use', id: 'toolu_01A', name: 'weather', input: { city: 'Oslo' } },
        { type: 'tool_use', id: 'toolu_01B', name: 'weather', input: { city: 'Lisbon', unit: 'celsius' } },
        { type: 'tool_use', id: 'toolu_01C', name: 'localTime', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: '{"celsius":-3}' },
        { type: 'tool_result', tool_use_id: 'toolu_01B', content: '{"celsius":19}' },
        { type: 'tool_result', tool_use_id: 'toolu_01C', content: '14:05' },
        { type: 'text', text: 'Thanks. Summarise.' },
      ],
    },
  ],
  tools: [
    {
      name: 'weather',
      description: 'Current weather for a city',
      input_schema: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city'],
      },
      strict: true,
    },
    { name: 'localTime', input_schema: { type: 'object' } },
  ],
  tool_choice: { type: 'any', disable_parallel_tool_use: true },
  temperature: 0.3,
  top_p: 0.9,
  stop_sequences: ['END', '###'],
  metadata: { user_id: 'tenant-7:user-19' },
  output_config: {
    format: {
      type: 'json_schema',
      schema: {
        type: 'object',
        properties: { text: { type: 'string' } },
        required: ['text'],
        additionalProperties: false,
      },
    },
  },
};

describe('anthropic adapter: the wire request', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.body?.stream) void sendFixtureStream(res, 'text.chunks.txt');
      else sendJson(res, 200, fixtureJson('text.json'));
    });
  });
  afterAll(() => upstream.close());

  it('is registered for the anthropic wire format, without embeddings', () => {
    const adapter = adapterFor('anthropic');
    expect(adapter.provider).toBe('anthropic');
    expect(adapter.embed).toBeUndefined();
  });

  it('sends every field of a rich request exactly, to POST /v1/messages with the key in x-api-key', async () => {
    const key = canaryKey('sk-ant-api03');
    await generate(anthropicEngine(upstream.url), RICH, { apiKey: key, maxRetries: 0 });
    const request = upstream.requests.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/messages');
    expect(request.headers['x-api-key']).toBe(key);
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.accept).toBe('application/json');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toEqual(RICH_WIRE);
    // seed has no Anthropic equivalent and a user's name and image detail none either.
    expect(request.rawBody.toString()).not.toMatch(/seed|"ana"|detail/);
  });

  it('streams the same body with stream: true and asks for an event stream', async () => {
    const key = canaryKey('sk-ant-api03');
    await collectStream(stream(anthropicEngine(upstream.url), RICH, { apiKey: key, maxRetries: 0 }));
    const request = upstream.requests.at(-1)!;
    expect(request.body).toEqual({ ...RICH_WIRE, stream: true });
    expect(request.headers.accept).toBe('text/event-stream');
    expect(request.headers['x-api-key']).toBe(key);
  });

  it('sends the documented default max_tokens and nothing optional for a bare request', async () => {
    await generate(
      anthropicEngine(upstream.url),
      { messages: [{ role: 'user', content: 'Hi' }] },
      { apiKey: canaryKey(), maxRetries: 0 },
    );
    expect(upstream.requests.at(-1)!.body).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
  });

  it('asks for JSON in the system prompt in JSON mode (Anthropic has no schema-less switch)', async () => {
    await generate(
      anthropicEngine(upstream.url),
      {
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: 'Two primes' },
        ],
        responseFormat: { type: 'json' },
      },
      { apiKey: canaryKey(), maxRetries: 0 },
    );
    const body = upstream.requests.at(-1)!.body;
    expect(body.system).toBe(`Be terse.\n\n${JSON_MODE_INSTRUCTION}`);
    expect(body.output_config).toBeUndefined();
  });

  it('honours a base URL with a path and passes extra headers, but never a second key header', async () => {
    const key = canaryKey('sk-ant-api03');
    const engine = anthropicEngine(`${upstream.url}/anthropic-proxy/`);
    await generate(
      engine,
      { messages: [{ role: 'user', content: 'Hi' }] },
      {
        apiKey: key,
        maxRetries: 0,
        headers: {
          'anthropic-beta': 'context-1m-2025-08-07',
          'X-Api-Key': 'sk-ant-someone-else',
          'Anthropic-Version': '1999-01-01',
        },
      },
    );
    const request = upstream.requests.at(-1)!;
    expect(request.url).toBe('/anthropic-proxy/v1/messages');
    expect(request.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
    expect(request.headers['x-api-key']).toBe(key);
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('refuses tool-call arguments that are not a JSON object, before any network call', async () => {
    const before = upstream.requests.length;
    const error = await generate(
      anthropicEngine(upstream.url),
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, toolCalls: [{ id: 't1', name: 'f', arguments: '{"a":' }] },
          { role: 'tool', toolCallId: 't1', content: 'ok' },
        ],
      },
      { apiKey: canaryKey(), maxRetries: 0 },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.provider).toBe('anthropic');
    expect(upstream.requests.length).toBe(before);
  });
});

/** The fields of Anthropic content blocks the round-trip server reads. */
interface WireBlock {
  type: string;
  tool_use_id?: string;
  content?: string;
  source?: { media_type?: string; url?: string };
  name?: string;
  input?: unknown;
}

describe('anthropic adapter: translation round trips', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    // A tiny "model" that answers from what it was sent: it reports the tool results and images
    // it saw, asks for one more tool, and counts its input.
    upstream = await startUpstream((req, res) => {
      const turns = req.body.messages as { role: string; content: WireBlock[] }[];
      const blocks = turns.flatMap((t) => t.content);
      const results = blocks
        .filter((b) => b.type === 'tool_result')
        .map((b) => `${b.tool_use_id}=${b.content}`);
      const images = blocks
        .filter((b) => b.type === 'image')
        .map((b) => b.source?.media_type ?? b.source?.url);
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => `${b.name}(${JSON.stringify(b.input)})`);
      const body = {
        id: 'msg_01RoundTrip',
        type: 'message',
        role: 'assistant',
        model: req.body.model,
        content: [
          {
            type: 'text',
            text: `results: ${results.join(', ')}; images: ${images.join(', ')}; calls: ${calls.join(', ')}`,
          },
          {
            type: 'tool_use',
            id: 'toolu_next',
            name: req.body.tools?.[0]?.name ?? 'none',
            input: { turns: turns.length },
          },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: {
          input_tokens: turns.length,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 10,
          output_tokens: 7,
        },
      };
      if (!req.body.stream) return sendJson(res, 200, body);
      const events = [
        {
          type: 'message_start',
          message: { ...body, content: [], stop_reason: null, usage: { ...body.usage, output_tokens: 1 } },
        },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: body.content[0]!.text } },
        { type: 'content_block_stop', index: 0 },
        { type: 'content_block_start', index: 1, content_block: { ...body.content[1], input: {} } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
        {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(body.content[1]!.input) },
        },
        { type: 'content_block_stop', index: 1 },
        {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 7 },
        },
        { type: 'message_stop' },
      ];
      void sendSse(
        res,
        events.map((e) => ({ event: e.type, data: JSON.stringify(e) })),
      );
    });
  });
  afterAll(() => upstream.close());

  const conversation: ChatInput = {
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image', url: `data:image/webp;base64,UklGRg==` },
          { type: 'image', url: 'https://example.com/a.gif' },
        ],
      },
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'toolu_1', name: 'measure', arguments: '{"what":"size"}' }],
      },
      { role: 'tool', toolCallId: 'toolu_1', content: '42' },
    ],
    tools: [{ name: 'measure', parameters: { type: 'object', properties: { what: { type: 'string' } } } }],
  };

  const expected = {
    id: 'msg_01RoundTrip',
    model: MODEL,
    content:
      'results: toolu_1=42; images: image/webp, https://example.com/a.gif; calls: measure({"what":"size"})',
    toolCalls: [{ id: 'toolu_next', name: 'measure', arguments: '{"turns":3}' }],
    finishReason: 'tool_calls',
    // 3 uncached + 100 read from cache + 10 written to it.
    usage: {
      inputTokens: 113,
      outputTokens: 7,
      totalTokens: 120,
      cachedInputTokens: 100,
      cacheWriteInputTokens: 10,
    },
  };

  it('tools, tool results, multi-part content, usage and finish reason survive generate', async () => {
    const result = await generate(anthropicEngine(upstream.url), conversation, {
      apiKey: canaryKey(),
      maxRetries: 0,
    });
    expect(result).toEqual(expected);
  });

  it('and the same through a stream', async () => {
    const events = stream(anthropicEngine(upstream.url), conversation, {
      apiKey: canaryKey(),
      maxRetries: 0,
    });
    expect(await collectStream(events)).toEqual(expected);
  });

  it('a result fed back as the next turn reaches the wire as the same tool_use', async () => {
    const engine = anthropicEngine(upstream.url);
    const first = await generate(engine, conversation, { apiKey: canaryKey(), maxRetries: 0 });
    const second = await generate(
      engine,
      {
        ...conversation,
        messages: [
          ...conversation.messages,
          { role: 'assistant', content: first.content, toolCalls: first.toolCalls },
          { role: 'tool', toolCallId: first.toolCalls[0]!.id, content: 'done' },
        ],
      },
      { apiKey: canaryKey(), maxRetries: 0 },
    );
    expect(second.content).toContain('results: toolu_1=42, toolu_next=done');
    expect(second.content).toContain('calls: measure({"what":"size"}), measure({"turns":3})');
    expect(second.usage.inputTokens).toBe(5 + 110);
  });
});
