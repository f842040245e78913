import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import {
  type RecordedRequest,
  sendJson,
  sendSse,
  startUpstream,
  type Upstream,
} from '../../../test/support/upstream-server.js';
import { collectStream } from '../../collect-stream.js';
import { createEngine, embed, generate, stream } from '../../engine.js';
import { InvalidRequestError } from '../../errors.js';
import type { ChatInput, Message } from '../../types/index.js';
import type { GeminiContent, GeminiPart } from './gemini-wire.js';
import { geminiFixture, geminiTextBody, PNG, richRequest } from './testing/gemini-fixtures.js';
import { toGeminiRequest } from './to-gemini-request.js';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream((_req, res) => sendJson(res, 200, geminiTextBody('ok')));
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

const engineFor = (model = 'gemini-2.5-flash', baseURL = upstream.url) =>
  createEngine({ provider: 'gemini', model, options: { baseURL } });

const last = (): RecordedRequest => upstream.requests.at(-1)!;

describe('requests', () => {
  it('POSTs the rich request to generateContent with the key only in x-goog-api-key', async () => {
    const key = canaryKey('AIza');
    upstream.handle((_req, res) => sendJson(res, 200, geminiFixture('gemini-text.json')));
    const { model: _model, ...input } = richRequest;
    await generate(engineFor(), input, { apiKey: key, maxRetries: 0, headers: { 'x-trace-id': 't-1' } });

    const request = last();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(request.headers['x-goog-api-key']).toBe(key);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-trace-id']).toBe('t-1');
    expect(request.headers.authorization).toBeUndefined();
    expectNoKeyIn(request.url, key);
    expect(request.body).toEqual(toGeminiRequest(richRequest));
    // Spot checks on the wire itself, beyond the mapper's own tests.
    expect(request.body.systemInstruction).toEqual({ parts: [{ text: 'You are terse.' }] });
    expect(request.body.contents.map((c: GeminiContent) => c.role)).toEqual(['user', 'model', 'user']);
    expect(request.body.contents[0].parts[1]).toEqual({ inlineData: { mimeType: 'image/png', data: PNG } });
    expect(request.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(request.body.generationConfig).toMatchObject({ temperature: 0.2, maxOutputTokens: 256, seed: 42 });
    expect(JSON.stringify(request.body)).not.toContain('end-user-7');
  });

  it('call headers cannot replace the key header', async () => {
    const key = canaryKey('AIza');
    await generate(
      engineFor(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: key, maxRetries: 0, headers: { 'x-goog-api-key': 'AIza-attacker' } },
    );
    expect(last().headers['x-goog-api-key']).toBe(key);
  });

  it('normalises models/… names and keeps a base URL that already names the API version', async () => {
    await generate(
      engineFor('models/gemini-2.5-pro'),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(last().path).toBe('/v1beta/models/gemini-2.5-pro:generateContent');
    await generate(
      engineFor('gemini-2.5-pro', `${upstream.url}/v1beta/`),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(last().path).toBe('/v1beta/models/gemini-2.5-pro:generateContent');
    await generate(
      engineFor('gemini-2.5-pro', `${upstream.url}/proxy/google`),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(last().path).toBe('/proxy/google/v1beta/models/gemini-2.5-pro:generateContent');
  });

  it('refuses a model name that is not a plain id, before any request', async () => {
    for (const model of ['../../v1/files', 'gemini-2.5-flash:generateContent?x=', 'a/b']) {
      const error = await generate(
        engineFor(model),
        { messages: [{ role: 'user', content: 'x' }] },
        { apiKey: 'AIza-k' },
      ).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('streams from streamGenerateContent?alt=sse with the key in the header', async () => {
    const key = canaryKey('AIza');
    upstream.handle((_req, res) => sendSse(res, [{ data: JSON.stringify(geminiTextBody('streamed')) }]));
    const result = await collectStream(
      stream(engineFor(), { messages: [{ role: 'user', content: 'x' }] }, { apiKey: key, maxRetries: 0 }),
    );
    expect(result.content).toBe('streamed');
    const request = last();
    expect(request.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect([...request.query.entries()]).toEqual([['alt', 'sse']]);
    expect(request.headers['x-goog-api-key']).toBe(key);
    expect(request.headers.accept).toBe('text/event-stream');
    expect(request.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
  });

  it('embeds with batchEmbedContents: one request per input, in order', async () => {
    const key = canaryKey('AIza');
    upstream.handle((_req, res) => sendJson(res, 200, geminiFixture('gemini-embeddings.json')));
    const engine = createEngine({
      provider: 'gemini',
      model: 'models/gemini-embedding-001',
      options: { baseURL: upstream.url },
    });
    const result = await embed(engine, { input: ['first', 'second'], dimensions: 768 }, { apiKey: key });

    const request = last();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(request.headers['x-goog-api-key']).toBe(key);
    expect(request.body).toEqual({
      requests: [
        {
          model: 'models/gemini-embedding-001',
          content: { parts: [{ text: 'first' }] },
          outputDimensionality: 768,
        },
        {
          model: 'models/gemini-embedding-001',
          content: { parts: [{ text: 'second' }] },
          outputDimensionality: 768,
        },
      ],
    });
    expect(result).toEqual({
      model: 'gemini-embedding-001',
      embeddings: [
        [0.0132, -0.0071, 0.0429, -0.0188, 0.0051],
        [-0.0207, 0.0314, -0.0093, 0.0126, -0.0402],
      ],
      usage: { inputTokens: 0 },
    });
    expectNoKeyIn(allRenderings(result), key);
  });

  it('fails an embedding answer with the wrong number of vectors', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { embeddings: [{ values: [1] }] }));
    const error = await embed(
      createEngine({ provider: 'gemini', model: 'gemini-embedding-001', options: { baseURL: upstream.url } }),
      { input: ['a', 'b'] },
      { apiKey: 'AIza-k', maxRetries: 0 },
    ).catch((e) => e);
    expect(error.code).toBe('provider_unavailable');
  });
});

describe('responses', () => {
  it('reads a tool-call answer served as Gemini sends it', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, geminiFixture('gemini-tool-calls.json')));
    const result = await generate(
      engineFor(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(result).toEqual({
      id: 'b4FPaeGxC7yZxs0PnZ6B0Qk',
      model: 'gemini-2.5-flash',
      content: 'Let me check both.',
      toolCalls: [
        { id: 'call_0', name: 'get_weather', arguments: '{"city":"Lyon","units":"celsius"}' },
        { id: 'call_1', name: 'get_time', arguments: '{}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 61, outputTokens: 24, totalTokens: 85 },
    });
  });

  it('reads reasoning and a blocked prompt', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, geminiFixture('gemini-reasoning.json')));
    const reasoning = await generate(
      engineFor(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(reasoning.reasoning).toContain('Counting letters');
    expect(reasoning.usage.reasoningTokens).toBe(282);
    upstream.handle((_req, res) => sendJson(res, 200, geminiFixture('gemini-blocked-prompt.json')));
    const blocked = await generate(
      engineFor(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k' },
    );
    expect(blocked.finishReason).toBe('content_filter');
    expect(blocked.content).toBeNull();
  });

  it('fails a 200 whose body is not JSON', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy</html>');
    });
    const error = await generate(
      engineFor(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k', maxRetries: 0 },
    ).catch((e) => e);
    expect(error.code).toBe('provider_unavailable');
  });
});

/**
 * A small Gemini that answers from what it received: it calls the first declared function with
 * the user's text and a count of the user's parts, and once it sees function responses it
 * answers with what they said. Anything Keyhold lost in translation shows in the result.
 */
function reasoningServer(req: RecordedRequest): Record<string, unknown> {
  const contents = req.body.contents as GeminiContent[];
  const turn = contents.at(-1)!;
  const responses = (turn.parts ?? []).filter((p: GeminiPart) => p.functionResponse);
  const usageMetadata = {
    promptTokenCount: 40,
    cachedContentTokenCount: 8,
    candidatesTokenCount: 6,
    thoughtsTokenCount: 4,
  };
  if (responses.length > 0) {
    const calls = contents.at(-2)!.parts!.filter((p) => p.functionCall);
    const text = responses
      .map(
        (p, i) =>
          `${p.functionResponse!.name}=${JSON.stringify(p.functionResponse!.response)} for ${JSON.stringify(calls[i]?.functionCall?.args)}`,
      )
      .join('; ');
    return {
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'MAX_TOKENS' }],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash-001',
      responseId: 'r-2',
    };
  }
  const declaration = req.body.tools[0].functionDeclarations[0];
  const parts = turn.parts ?? [];
  return {
    candidates: [
      {
        content: {
          role: 'model',
          parts: [
            {
              functionCall: {
                name: declaration.name,
                args: {
                  city: parts.find((p) => p.text)?.text,
                  images: parts.filter((p) => p.inlineData || p.fileData).length,
                },
              },
            },
          ],
        },
        finishReason: 'STOP',
      },
    ],
    usageMetadata,
    modelVersion: 'gemini-2.5-flash-001',
    responseId: 'r-1',
  };
}

describe('translation round trips', () => {
  const tools: ChatInput['tools'] = [
    { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  ];
  const first: Message = {
    role: 'user',
    content: [
      { type: 'text', text: 'Lyon' },
      { type: 'image', data: PNG, mediaType: 'image/png' },
      { type: 'image', url: 'https://example.com/sky.png' },
    ],
  };

  it('tool call → tool result → answer, with usage and finish reasons', async () => {
    upstream.handle((req, res) => sendJson(res, 200, reasoningServer(req)));
    const engine = engineFor();
    const step1 = await generate(engine, { messages: [first], tools }, { apiKey: 'AIza-k' });
    expect(step1).toEqual({
      id: 'r-1',
      model: 'gemini-2.5-flash-001',
      content: null,
      toolCalls: [{ id: 'call_0', name: 'get_weather', arguments: '{"city":"Lyon","images":2}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 40, cachedInputTokens: 8, outputTokens: 10, reasoningTokens: 4, totalTokens: 50 },
    });

    const messages: Message[] = [
      first,
      { role: 'assistant', content: step1.content, toolCalls: step1.toolCalls },
      { role: 'tool', toolCallId: step1.toolCalls[0]!.id, content: '{"temperature":21}' },
    ];
    const step2 = await generate(engine, { messages, tools }, { apiKey: 'AIza-k' });
    expect(step2.content).toBe('get_weather={"temperature":21} for {"city":"Lyon","images":2}');
    expect(step2.finishReason).toBe('length');
    expect(step2.toolCalls).toEqual([]);
  });

  it('the same conversation streamed gives the same results', async () => {
    upstream.handle((req, res) => sendSse(res, [{ data: JSON.stringify(reasoningServer(req)) }]));
    const engine = engineFor();
    const step1 = await collectStream(stream(engine, { messages: [first], tools }, { apiKey: 'AIza-k' }));
    expect(step1.toolCalls).toEqual([
      { id: 'call_0', name: 'get_weather', arguments: '{"city":"Lyon","images":2}' },
    ]);
    expect(step1.finishReason).toBe('tool_calls');
    expect(step1.usage).toEqual({
      inputTokens: 40,
      cachedInputTokens: 8,
      outputTokens: 10,
      reasoningTokens: 4,
      totalTokens: 50,
    });
    const step2 = await collectStream(
      stream(
        engine,
        {
          messages: [
            first,
            { role: 'assistant', content: null, toolCalls: step1.toolCalls },
            // Plain-text tool output travels wrapped as { content }.
            { role: 'tool', toolCallId: 'call_0', name: 'get_weather', content: 'sunny' },
          ],
          tools,
        },
        { apiKey: 'AIza-k' },
      ),
    );
    expect(step2.content).toBe('get_weather={"content":"sunny"} for {"city":"Lyon","images":2}');
    expect(step2.finishReason).toBe('length');
  });
});
