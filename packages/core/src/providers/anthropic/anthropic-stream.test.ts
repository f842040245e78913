import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../../test/support/leaks.js';
import {
  type RecordedRequest,
  sendSse,
  startUpstream,
  type Upstream,
} from '../../../test/support/upstream-server.js';
import {
  collectStream,
  generate,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  type StreamEvent,
  stream,
} from '../../index.js';
import { anthropicEngine, fixtureEvents, sendFixtureStream } from './testing/anthropic-upstream.js';

describe('anthropic streams (served as Anthropic sends them)', () => {
  let upstream: Upstream;
  let serve: (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;
  beforeAll(async () => {
    upstream = await startUpstream((req, res) => serve(req, res));
  });
  afterAll(() => upstream.close());

  async function events(): Promise<StreamEvent[]> {
    const seen: StreamEvent[] = [];
    const input = { messages: [{ role: 'user' as const, content: 'x' }] };
    for await (const event of stream(anthropicEngine(upstream.url), input, {
      apiKey: canaryKey(),
      maxRetries: 0,
    })) {
      seen.push(event);
    }
    return seen;
  }

  function fixture(name: string): Promise<StreamEvent[]> {
    serve = (_req, res) => sendFixtureStream(res, name);
    return events();
  }

  it('text: start, deltas (ping skipped), usage once, finish last', async () => {
    expect(await fixture('text.chunks.txt')).toEqual([
      { type: 'start', id: 'msg_01StreamA1s2D3f4G5h6J7', model: 'claude-sonnet-4-5-20250929' },
      { type: 'text-delta', delta: 'Hello' },
      { type: 'text-delta', delta: "! I'm" },
      { type: 'text-delta', delta: ' well, thank you.' },
      { type: 'text-delta', delta: ' How can I help today?' },
      {
        type: 'usage',
        usage: {
          inputTokens: 14,
          outputTokens: 18,
          totalTokens: 32,
          cachedInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
      },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('a no-argument tool (only "" pieces) ends with "{}" arguments, index 0 despite block index 1', async () => {
    const seen = await fixture('tool-no-args.chunks.txt');
    expect(seen.filter((e) => e.type === 'tool-call-delta')).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'toolu_01StreamRefreshK8j7H6g5',
        name: 'refreshIssueList',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{}' },
    ]);
    expect(seen.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('incremental argument pieces of two tools, indexed over tool blocks only', async () => {
    const seen = await fixture('tool-pieces.chunks.txt');
    expect(seen.filter((e) => e.type === 'tool-call-delta')).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'toolu_01WeatherOsloA1b2C3d4',
        name: 'weather',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city": "Os' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'lo", "unit"' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: ': "celsius"}' },
      {
        type: 'tool-call-delta',
        index: 1,
        id: 'toolu_01WeatherLisbonE5f6G7h8',
        name: 'weather',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{"city": "Lisbon"}' },
    ]);
    serve = (_req, res) => sendFixtureStream(res, 'tool-pieces.chunks.txt');
    const result = await collectStream(
      stream(
        anthropicEngine(upstream.url),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: canaryKey() },
      ),
    );
    expect(result.content).toBe('Checking both cities.');
    expect(result.toolCalls.map((c) => JSON.parse(c.arguments))).toEqual([
      { city: 'Oslo', unit: 'celsius' },
      { city: 'Lisbon' },
    ]);
  });

  it('thinking deltas become reasoning; signatures and empty deltas are dropped', async () => {
    const seen = await fixture('thinking.chunks.txt');
    expect(
      seen.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { delta: string }).delta),
    ).toEqual(['The previous total', ' was 744.', ' 744 / 8 = 93']);
    expect(seen.filter((e) => e.type === 'text-delta')).toHaveLength(2);
    expect(seen.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: {
        inputTokens: 71,
        outputTokens: 61,
        totalTokens: 132,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        reasoningTokens: 30,
      },
    });
  });

  it('prompt-cache usage: message_delta’s cumulative counts win; server tools are not tool calls', async () => {
    const seen = await fixture('prompt-cache.chunks.txt');
    expect(seen.some((e) => e.type === 'tool-call-delta')).toBe(false);
    expect(seen.filter((e) => e.type === 'usage')).toEqual([
      {
        type: 'usage',
        usage: {
          inputTokens: 5 + 6120 + 3050,
          outputTokens: 187,
          totalTokens: 5 + 6120 + 3050 + 187,
          cachedInputTokens: 6120,
          cacheWriteInputTokens: 3050,
          reasoningTokens: 0,
        },
      },
    ]);
    expect(seen.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('max_tokens → length; a null count in message_delta keeps message_start’s', async () => {
    const seen = await fixture('max-tokens.chunks.txt');
    expect(seen.slice(-2)).toEqual([
      {
        type: 'usage',
        usage: {
          inputTokens: 20,
          outputTokens: 5,
          totalTokens: 25,
          cachedInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
      },
      { type: 'finish', finishReason: 'length' },
    ]);
  });

  it('streamed and non-streamed answers fold to the same result', async () => {
    serve = (req, res) => {
      const events = fixtureEvents('tool-pieces.chunks.txt');
      if (req.body.stream) return sendSse(res, events);
      // The same message, assembled the way Anthropic returns it unstreamed.
      const start = JSON.parse(events[0]!.data).message;
      const body = {
        ...start,
        content: [
          { type: 'text', text: 'Checking both cities.' },
          {
            type: 'tool_use',
            id: 'toolu_01WeatherOsloA1b2C3d4',
            name: 'weather',
            input: { city: 'Oslo', unit: 'celsius' },
          },
          {
            type: 'tool_use',
            id: 'toolu_01WeatherLisbonE5f6G7h8',
            name: 'weather',
            input: { city: 'Lisbon' },
          },
        ],
        stop_reason: 'tool_use',
        usage: { ...start.usage, output_tokens: 71 },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const engine = anthropicEngine(upstream.url);
    const input = { messages: [{ role: 'user' as const, content: 'x' }] };
    const streamed = await collectStream(stream(engine, input, { apiKey: canaryKey() }));
    const whole = await generate(engine, input, { apiKey: canaryKey() });
    expect({
      ...streamed,
      toolCalls: streamed.toolCalls.map((c) => ({ ...c, arguments: JSON.parse(c.arguments) })),
    }).toEqual({
      ...whole,
      toolCalls: whole.toolCalls.map((c) => ({ ...c, arguments: JSON.parse(c.arguments) })),
    });
  });

  it('a stream cut mid-way throws ProviderUnavailableError after the events it did send', async () => {
    // A small delay lets the head and first events arrive before the cut, as on a real network.
    serve = (_req, res) => sendFixtureStream(res, 'text.chunks.txt', { cutAfter: 5, delayMs: 5 });
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of stream(
        anthropicEngine(upstream.url),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: canaryKey(), maxRetries: 0 },
      )) {
        seen.push(event);
      }
    })().catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
    expect(error.message).toBe('anthropic stream ended before completion');
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta']);
  });

  it('a body that ends cleanly without message_stop is also incomplete', async () => {
    serve = (_req, res) => sendSse(res, fixtureEvents('text.chunks.txt').slice(0, -1));
    const error = await events().catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('anthropic stream ended before completion');
  });

  const inStream = (type: string, message: string) => (_req: RecordedRequest, res: ServerResponse) =>
    sendSse(res, [
      ...fixtureEvents('text.chunks.txt').slice(0, 4),
      { event: 'error', data: JSON.stringify({ type: 'error', error: { type, message } }) },
    ]);

  it('event: error overloaded_error → ProviderUnavailableError (transient)', async () => {
    serve = inStream('overloaded_error', 'Overloaded');
    const error = await events().catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
    expect(error.providerCode).toBe('overloaded_error');
  });

  it('event: error rate_limit_error → RateLimitError', async () => {
    serve = inStream('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit');
    const error = await events().catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.message).not.toContain('per-minute');
  });

  it('event: error api_error / unknown types → ProviderUnavailableError; permission_error → PermissionError', async () => {
    serve = inStream('api_error', 'Internal server error');
    expect(await events().catch((e) => e)).toBeInstanceOf(ProviderUnavailableError);
    serve = inStream('brand_new_error', 'Something');
    expect(await events().catch((e) => e)).toBeInstanceOf(ProviderUnavailableError);
    serve = inStream('permission_error', 'Nope');
    expect(await events().catch((e) => e)).toBeInstanceOf(PermissionError);
  });

  it('an in-stream error before any event is retried like any transient failure', async () => {
    let calls = 0;
    serve = (_req, res) => {
      calls++;
      if (calls === 1) {
        return sendSse(res, [
          {
            event: 'error',
            data: JSON.stringify({
              type: 'error',
              error: { type: 'overloaded_error', message: 'Overloaded' },
            }),
          },
        ]);
      }
      return sendFixtureStream(res, 'text.chunks.txt');
    };
    const result = await collectStream(
      stream(
        anthropicEngine(upstream.url),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: canaryKey(), maxRetries: 1 },
      ),
    );
    expect(calls).toBe(2);
    expect(result.content).toBe("Hello! I'm well, thank you. How can I help today?");
  });

  it('leaving the loop early releases the upstream connection', async () => {
    let closed: Promise<void> | undefined;
    serve = (_req, res) => {
      closed = new Promise((resolve) => res.on('close', () => resolve()));
      return sendFixtureStream(res, 'text.chunks.txt', { delayMs: 200 });
    };
    for await (const event of stream(
      anthropicEngine(upstream.url),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: canaryKey(), maxRetries: 0 },
    )) {
      if (event.type === 'text-delta') break;
    }
    // Without the release, the server would keep writing for ~2 s more.
    await expect(
      Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 1000))]),
    ).resolves.toBeUndefined();
  });
});
