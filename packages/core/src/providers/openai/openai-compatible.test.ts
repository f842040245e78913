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
  RateLimitError,
  stream,
} from '../../index.js';
import {
  completionWithText,
  fixtureJson,
  replyDeepSeek401,
  replyFixture,
  sendJson,
  serveChunks,
} from './testing/openai-fixtures.js';
import { richRequest, richWireResponseFormat, richWireTools } from './testing/rich-request.js';

const { model: _model, ...richInput } = richRequest;
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

/** The OpenAI-compatible presets whose quirks differ: Mistral, DeepSeek, Groq, keyless Ollama, vLLM. */
describe('OpenAI-compatible presets over HTTP', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 200, completionWithText('ok')));
  });
  afterAll(() => upstream.close());
  const engine = (provider: string, model = 'm') =>
    createEngine({ provider, model, options: { baseURL: `${upstream.url}/v1` } });

  describe('mistral', () => {
    const key = canaryKey('mst');

    it('sends what Mistral accepts: max_tokens, random_seed, no user / name / stream_options', async () => {
      upstream.handle((_req, res) => serveChunks(res, 'mistral-reasoning.chunks.txt'));
      const result = await collectStream(
        stream(engine('mistral', 'magistral-medium-2507'), richInput, { apiKey: key }),
      );
      const req = upstream.requests.at(-1)!;
      expect(req.url).toBe('/v1/chat/completions');
      expect(req.headers.authorization).toBe(`Bearer ${key}`);
      expect(req.body).toMatchObject({
        model: 'magistral-medium-2507',
        tools: richWireTools,
        tool_choice: { type: 'function', function: { name: 'weather' } },
        parallel_tool_calls: false,
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 300,
        random_seed: 7,
        stop: ['END'],
        response_format: richWireResponseFormat,
        stream: true,
      });
      for (const field of ['stream_options', 'user', 'seed', 'max_completion_tokens']) {
        expect(req.body, field).not.toHaveProperty(field);
      }
      expect(req.body.messages[1]).not.toHaveProperty('name');
      expect(result.reasoning).toBe('Simple sum.');
      expect(result.content).toBe('2 + 2 = 4');
      expect(result.usage).toEqual({ inputTokens: 10, outputTokens: 30, totalTokens: 40 });
    });

    it('reads Mistral’s error bodies: 401, 429, 422 extra_forbidden, context length', async () => {
      const call = () => generate(engine('mistral'), hi, { apiKey: key, maxRetries: 0 }).catch((e) => e);
      upstream.handle((_req, res) => replyFixture(res, 401, 'mistral-401.json'));
      const unauthorized = await call();
      expect(unauthorized).toBeInstanceOf(AuthenticationError);
      expectNoKeyIn(allRenderings(unauthorized), key);
      upstream.handle((_req, res) => replyFixture(res, 429, 'mistral-429.json', { 'retry-after': '1' }));
      const limited = await call();
      expect(limited).toBeInstanceOf(RateLimitError);
      expect(limited.retryAfterMs).toBe(1000);
      upstream.handle((_req, res) => replyFixture(res, 422, 'mistral-extra-forbidden.json'));
      const invalid = await call();
      expect(invalid).toBeInstanceOf(InvalidRequestError);
      expect(invalid.upstreamStatus).toBe(422);
      upstream.handle((_req, res) => replyFixture(res, 400, 'mistral-context-length.json'));
      expect(await call()).toBeInstanceOf(ContextLengthError);
    });

    it('embeds with output_dimension and without user', async () => {
      upstream.handle((_req, res) =>
        sendJson(res, 200, { ...fixtureJson('embedding.json'), model: 'mistral-embed' }),
      );
      const result = await embed(
        engine('mistral', 'mistral-embed'),
        { input: ['a', 'b'], dimensions: 5, user: 'u' },
        { apiKey: key },
      );
      expect(upstream.requests.at(-1)!.body).toEqual({
        model: 'mistral-embed',
        input: ['a', 'b'],
        encoding_format: 'float',
        output_dimension: 5,
      });
      expect(result.model).toBe('mistral-embed');
      expect(result.embeddings).toHaveLength(2);
    });
  });

  describe('deepseek', () => {
    const key = canaryKey('sk');

    it('streams reasoning and argument pieces, asking for stream usage with max_tokens', async () => {
      upstream.handle((_req, res) => serveChunks(res, 'deepseek-tool-call.chunks.txt'));
      const result = await collectStream(
        stream(
          engine('deepseek', 'deepseek-reasoner'),
          { ...hi, maxTokens: 50, seed: 1, user: 'u' },
          { apiKey: key },
        ),
      );
      expect(upstream.requests.at(-1)!.body).toEqual({
        model: 'deepseek-reasoner',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 50,
        seed: 1,
        user: 'u',
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(result.reasoning).toBe('The user wants weather.');
      expect(result.toolCalls).toEqual([
        { id: 'call_00_kh1DeepSeekWeather01', name: 'weather', arguments: '{"city":"Oslo"}' },
      ]);
      expect(result.usage.cachedInputTokens).toBe(320);
    });

    it('reads prompt_cache_hit_tokens and a length finish', async () => {
      upstream.handle((_req, res) => sendJson(res, 200, fixtureJson('deepseek-reasoning.json')));
      const result = await generate(engine('deepseek'), hi, { apiKey: key });
      expect(result.finishReason).toBe('length');
      expect(result.usage.cachedInputTokens).toBe(48);
    });

    it('its 401 quotes the key’s tail; its context error is recognised by message', async () => {
      upstream.handle((_req, res) => replyDeepSeek401(res, key));
      const unauthorized = await generate(engine('deepseek'), hi, { apiKey: key, maxRetries: 0 }).catch(
        (e) => e,
      );
      expect(unauthorized).toBeInstanceOf(AuthenticationError);
      expect(unauthorized.providerCode).toBe('invalid_request_error');
      expectNoKeyIn(allRenderings(unauthorized), key);
      upstream.handle((_req, res) => replyFixture(res, 400, 'deepseek-context-length.json'));
      const tooLong = await generate(engine('deepseek'), hi, { apiKey: key, maxRetries: 0 }).catch((e) => e);
      expect(tooLong).toBeInstanceOf(ContextLengthError);
    });
  });

  describe('groq', () => {
    it('streams reasoning from `reasoning` and usage from the finish chunk; 400 context_length_exceeded', async () => {
      const key = canaryKey('gsk');
      upstream.handle((_req, res) => serveChunks(res, 'groq-reasoning.chunks.txt'));
      const result = await collectStream(stream(engine('groq', 'qwen/qwen3-32b'), hi, { apiKey: key }));
      expect(upstream.requests.at(-1)!.body).toMatchObject({ stream_options: { include_usage: true } });
      expect(result).toMatchObject({
        reasoning: 'Two plus two.',
        content: '4',
        usage: { inputTokens: 17, outputTokens: 60, totalTokens: 77, reasoningTokens: 58 },
      });
      upstream.handle((_req, res) => replyFixture(res, 400, 'groq-context-length.json'));
      const tooLong = await generate(engine('groq'), hi, { apiKey: key, maxRetries: 0 }).catch((e) => e);
      expect(tooLong).toBeInstanceOf(ContextLengthError);
    });
  });

  describe('ollama and vllm', () => {
    it('sends no Authorization header to a keyless Ollama', async () => {
      upstream.handle((_req, res) => sendJson(res, 200, completionWithText('local', 'llama3.2')));
      const result = await generate(engine('ollama', 'llama3.2'), hi);
      expect(result.content).toBe('local');
      expect(upstream.requests.at(-1)!.headers.authorization).toBeUndefined();
    });

    it('vLLM goes to the base URL it is given, with its key', async () => {
      const key = canaryKey('vllm');
      upstream.handle((_req, res) => sendJson(res, 200, completionWithText('served', 'Qwen/Qwen3-8B')));
      const e = createEngine({
        provider: 'vllm',
        model: 'Qwen/Qwen3-8B',
        options: { baseURL: `${upstream.url}/serve/v1/` },
      });
      const result = await generate(e, hi, { apiKey: key });
      expect(result.content).toBe('served');
      expect(upstream.requests.at(-1)!.url).toBe('/serve/v1/chat/completions');
      expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${key}`);
    });
  });
});
