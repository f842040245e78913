import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import type { ChatResult, StreamEvent } from '@keyhold/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toAnthropicErrorBody } from './anthropic-errors.js';
import { createAnthropicEventEncoder } from './anthropic-event-encoder.js';
import { parseAnthropicMessagesRequest } from './parse-messages-request.js';
import { toAnthropicMessage } from './to-anthropic-message.js';

/**
 * The official `@anthropic-ai/sdk` client against a local HTTP server that answers
 * `/v1/messages` with this folder's output: proves the wire is what the SDK parses.
 */

type Handler = (body: unknown, res: ServerResponse) => void | Promise<void>;

let server: Server;
let client: Anthropic;
let handler: Handler;
let received: Array<{ path: string | undefined; headers: IncomingMessage['headers']; body: unknown }> = [];

const CTX = { id: 'msg_keyhold_0001', model: 'anthropic/claude-sonnet-4-5' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      received.push({ path: req.url, headers: req.headers, body });
      void handler(body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new Anthropic({ apiKey: 'test-not-a-key', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
});

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Streams the encoder's output for `events`, one write per neutral event, as the gateway will. */
async function sendEncoded(res: ServerResponse, events: StreamEvent[], tail: 'end' | 'error' = 'end') {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const encoder = createAnthropicEventEncoder(CTX);
  for (const event of events) {
    const frames = encoder.encode(event);
    if (frames !== '') res.write(frames);
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end(tail === 'end' ? encoder.end() : encoder.error(529, 'The provider is overloaded.'));
}

const toolResult: ChatResult = {
  id: 'chatcmpl-upstream-1',
  model: 'gpt-4o-2024-08-06',
  content: 'Let me check the weather in both cities.',
  reasoning: 'The user wants two cities.',
  toolCalls: [
    { id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris","units":["c"]}' },
    { id: 'call_now', name: 'get_time', arguments: '' },
  ],
  finishReason: 'tool_calls',
  usage: {
    inputTokens: 1500,
    outputTokens: 42,
    totalTokens: 1542,
    cachedInputTokens: 1024,
    cacheWriteInputTokens: 100,
  },
};

const streamEvents: StreamEvent[] = [
  { type: 'start', id: 'chatcmpl-upstream-2', model: 'gpt-4o' },
  { type: 'reasoning-delta', delta: 'Two ' },
  { type: 'reasoning-delta', delta: 'cities.' },
  { type: 'text-delta', delta: 'Checking ' },
  { type: 'text-delta', delta: 'now.' },
  { type: 'tool-call-delta', index: 0, id: 'call_paris', name: 'get_weather', argumentsDelta: '' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
  { type: 'tool-call-delta', index: 1, id: 'call_now', name: 'get_time', argumentsDelta: '' },
  { type: 'usage', usage: { inputTokens: 900, outputTokens: 37, totalTokens: 937, cachedInputTokens: 800 } },
  { type: 'finish', finishReason: 'tool_calls' },
];

describe('@anthropic-ai/sdk reads the non-streamed message', () => {
  it('parses thinking, text, tool_use inputs, stop reason and cache-split usage', async () => {
    handler = (_body, res) => sendJson(res, 200, toAnthropicMessage(toolResult, CTX));
    const message = await client.messages.create({
      model: CTX.model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Weather in Paris, and the time?' }],
    });
    expect(received[0]?.path).toBe('/v1/messages');
    // What the gateway's auth must accept from this SDK: the key as a Bearer token, not x-api-key.
    expect(received[0]?.headers.authorization).toBe('Bearer test-not-a-key');
    expect(received[0]?.headers['x-api-key']).toBeUndefined();
    expect(received[0]?.headers['anthropic-version']).toBe('2026-10-21');
    expect(message.id).toBe(CTX.id);
    expect(message.model).toBe(CTX.model);
    expect(message.role).toBe('assistant');
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user wants two cities.', signature: '' },
      { type: 'text', text: 'Let me check the weather in both cities.' },
      { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris', units: ['c'] } },
      { type: 'tool_use', id: 'call_now', name: 'get_time', input: {} },
    ]);
    expect(message.usage).toEqual({
      input_tokens: 376,
      output_tokens: 42,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1024,
    });
  });

  it('surfaces an error body as the SDK typed error with Anthropic error type', async () => {
    handler = (_body, res) => sendJson(res, 429, toAnthropicErrorBody(429, 'Tenant budget exhausted.'));
    const error = await client.messages
      .create({ model: CTX.model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const apiError = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(apiError.status).toBe(429);
    expect(apiError.error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Tenant budget exhausted.' },
    });
  });
});

describe('@anthropic-ai/sdk reads the encoder stream', () => {
  it('messages.stream().finalMessage() rebuilds content, tool inputs and usage', async () => {
    handler = (_body, res) => sendEncoded(res, streamEvents);
    const stream = client.messages.stream({
      model: CTX.model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Weather in Paris, and the time?' }],
    });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect((received[0]?.body as { stream?: boolean } | undefined)?.stream).toBe(true);
    expect(texts).toEqual(['Checking ', 'now.']);
    expect(message.id).toBe(CTX.id);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.stop_sequence).toBeNull();
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Two cities.', signature: '' },
      { type: 'text', text: 'Checking now.' },
      { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_now', name: 'get_time', input: {} },
    ]);
    expect(message.usage).toMatchObject({
      input_tokens: 100,
      output_tokens: 37,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 800,
    });
  });

  it('raw stream events come in Anthropic order with contiguous block indexes', async () => {
    handler = (_body, res) => sendEncoded(res, streamEvents);
    const stream = await client.messages.create({
      model: CTX.model,
      max_tokens: 256,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const seen: string[] = [];
    for await (const event of stream) {
      const index = 'index' in event ? `:${event.index}` : '';
      seen.push(`${event.type}${index}`);
    }
    expect(seen).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'content_block_start:3',
      'content_block_stop:3',
      'message_delta',
      'message_stop',
    ]);
  });

  it('a stream cut short and closed with end() still yields a final message', async () => {
    handler = (_body, res) => sendEncoded(res, [{ type: 'text-delta', delta: 'partial' }]);
    const message = await client.messages
      .stream({ model: CTX.model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'partial' }]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('an in-stream error event makes the SDK throw with the Anthropic error type', async () => {
    handler = (_body, res) => sendEncoded(res, [{ type: 'text-delta', delta: 'Hel' }], 'error');
    const error = await client.messages
      .stream({ model: CTX.model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'The provider is overloaded.' },
    });
  });
});

describe('a request body as the SDK sends it', () => {
  it('parses into the expected neutral ChatInput', async () => {
    handler = (_body, res) =>
      sendJson(res, 200, toAnthropicMessage({ ...toolResult, reasoning: undefined, toolCalls: [] }, CTX));
    await client.messages.create({
      model: 'openai/gpt-4o',
      max_tokens: 512,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in French.', cache_control: { type: 'ephemeral' } },
      ],
      // SDK 1.x (API version 2026-10-21) no longer types the sampling fields; clients pinned to
      // 2023-06-01 still send them, and the SDK passes unknown fields through unchanged.
      ...({ temperature: 0.2, top_p: 0.9, top_k: 40 } as {}),
      stop_sequences: ['END'],
      metadata: { user_id: 'end-user-7' },
      tools: [
        {
          name: 'get_weather',
          description: 'Weather for a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Need the tool.', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_01',
              content: [{ type: 'text', text: '18°C, sunny' }],
            },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    const parsed = parseAnthropicMessagesRequest(received[0]?.body);
    expect(parsed).toEqual({
      ok: true,
      value: {
        model: 'openai/gpt-4o',
        stream: false,
        input: {
          messages: [
            { role: 'system', content: 'You are terse.\n\nAnswer in French.' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'Weather here?' },
                { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
              ],
            },
            {
              role: 'assistant',
              content: 'Checking.',
              toolCalls: [{ id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' }],
            },
            { role: 'tool', toolCallId: 'toolu_01', name: 'get_weather', content: '18°C, sunny' },
            { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
          ],
          maxTokens: 512,
          temperature: 0.2,
          topP: 0.9,
          stop: ['END'],
          user: 'end-user-7',
          tools: [
            {
              name: 'get_weather',
              description: 'Weather for a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          ],
          toolChoice: 'required',
          parallelToolCalls: false,
        },
      },
    });
  });

  it('the SDK streaming request parses with stream: true', async () => {
    handler = (_body, res) => sendEncoded(res, [{ type: 'finish', finishReason: 'stop' }]);
    await client.messages
      .stream({ model: 'fake/echo', max_tokens: 8, messages: [{ role: 'user', content: 'ping' }] })
      .finalMessage();
    const parsed = parseAnthropicMessagesRequest(received[0]?.body);
    expect(parsed.ok && parsed.value.stream).toBe(true);
    expect(parsed.ok && parsed.value.input.messages).toEqual([{ role: 'user', content: 'ping' }]);
  });
});
