import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../../test/support/leaks.js';
import { sendJson, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { type ChatResult, generate, ProviderUnavailableError } from '../../index.js';
import { mapAnthropicStopReason } from './from-anthropic-response.js';
import { anthropicEngine, fixtureJson } from './testing/anthropic-upstream.js';

describe('anthropic responses (served as Anthropic sends them)', () => {
  let upstream: Upstream;
  let body: unknown;
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 200, body, { 'request-id': 'req_011CTest' }));
  });
  afterAll(() => upstream.close());

  async function answer(served: unknown): Promise<ChatResult> {
    body = served;
    return generate(
      anthropicEngine(upstream.url),
      { messages: [{ role: 'user', content: 'x' }] },
      {
        apiKey: canaryKey(),
        maxRetries: 0,
      },
    );
  }

  it('text, with zero cache counts reported as zero', async () => {
    expect(await answer(fixtureJson('text.json'))).toEqual({
      id: 'msg_01TextK7pQ2mZ8wXyV3nR4sT',
      model: 'claude-sonnet-4-5-20250929',
      content: "Hello! I'm well, thank you. How can I help today?",
      toolCalls: [],
      finishReason: 'stop',
      usage: {
        inputTokens: 14,
        outputTokens: 17,
        totalTokens: 31,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
      },
    });
  });

  it('text and a no-argument tool call ({} as arguments)', async () => {
    const result = await answer(fixtureJson('tool-no-args.json'));
    expect(result.content).toBe("I'll refresh the issue list for you.");
    expect(result.toolCalls).toEqual([
      { id: 'toolu_01RefreshA1b2C3d4E5f6G7h8', name: 'refreshIssueList', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
  });

  it('tool calls only: content is null and nested input keeps its structure', async () => {
    const result = await answer(fixtureJson('tool-nested.json'));
    expect(result.content).toBeNull();
    expect(result.toolCalls).toHaveLength(2);
    expect(JSON.parse(result.toolCalls[0]!.arguments)).toEqual({
      cities: [
        { name: 'Oslo', celsius: -3, sky: 'snow' },
        { name: 'Lisbon', celsius: 19, sky: 'clear' },
      ],
    });
    expect(result.toolCalls[1]).toEqual({
      id: 'toolu_01ClockP0o9I8u7Y6t5R4e3',
      name: 'localTime',
      arguments: '{"zone":"Europe/Oslo"}',
    });
  });

  it('thinking becomes reasoning, thinking tokens become reasoningTokens', async () => {
    const result = await answer(fixtureJson('thinking.json'));
    expect(result.reasoning).toBe('The previous total was 744. Dividing by 8 gives 93.');
    expect(result.content).toBe('744 ÷ 8 = 93');
    expect(result.usage).toEqual({
      inputTokens: 71,
      outputTokens: 58,
      totalTokens: 129,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
      reasoningTokens: 29,
    });
  });

  it('prompt-cache usage: input counts the cached and the written tokens too', async () => {
    const result = await answer(fixtureJson('prompt-cache.json'));
    expect(result.usage).toEqual({
      inputTokens: 9 + 5120 + 312,
      outputTokens: 12,
      totalTokens: 9 + 5120 + 312 + 12,
      cachedInputTokens: 5120,
      cacheWriteInputTokens: 312,
    });
  });

  it('structured output arrives as JSON text', async () => {
    const result = await answer(fixtureJson('json-output.json'));
    expect(JSON.parse(result.content!)).toEqual({ city: 'Oslo', celsius: -3 });
  });

  it('server-tool blocks and redacted thinking are not tool calls or text', async () => {
    const result = await answer({
      ...fixtureJson('text.json'),
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy…' },
        { type: 'text', text: 'Found ' },
        { type: 'text', text: 'it.' },
      ],
    });
    expect(result.toolCalls).toEqual([]);
    expect(result.content).toBe('Found it.');
    expect(result.reasoning).toBeUndefined();
  });

  for (const [stop, finish] of [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'other'],
  ] as const) {
    it(`stop_reason ${stop} → ${finish}`, async () => {
      expect((await answer({ ...fixtureJson('text.json'), stop_reason: stop })).finishReason).toBe(finish);
    });
  }

  it('a 200 body that is not a message is a provider failure', async () => {
    const error = await answer({ hello: 'world' }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
  });
});

describe('mapAnthropicStopReason', () => {
  it('maps unknown and missing reasons to other', () => {
    expect(mapAnthropicStopReason('something_new')).toBe('other');
    expect(mapAnthropicStopReason(null)).toBe('other');
    expect(mapAnthropicStopReason(undefined)).toBe('other');
  });
});
