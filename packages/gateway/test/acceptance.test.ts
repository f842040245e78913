import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../core/test/support/leaks.js';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { validateOpenAI } from './support/openai-spec.js';
import { PROVIDER_CASES, TEXT, VECTOR } from './support/provider-upstreams.js';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

it('covers every registered adapter that has a local upstream (at least anthropic, gemini, bedrock)', () => {
  const providers = PROVIDER_CASES.map((c) => c.provider);
  expect(providers).toEqual(expect.arrayContaining(['anthropic', 'gemini', 'bedrock']));
});

for (const c of PROVIDER_CASES) {
  describe(`provider ${c.provider}: official clients through the gateway`, () => {
    let upstream: Upstream;
    let h: Harness;
    let openai: OpenAI;
    let anthropic: Anthropic;
    const tenantKey = canaryKey(`sk-${c.provider}`);
    const vk = virtualKey('acme-key');
    const model = `${c.provider}/${c.model}`;

    beforeAll(async () => {
      upstream = await startUpstream((r, res) => c.handle(r, res));
      h = await startGateway({
        models: { aliases: { smart: model }, list: [model] },
        tenants: [
          {
            id: 'acme',
            credentials: [
              {
                id: 'acme-cred',
                provider: c.provider,
                secrets: { apiKey: tenantKey },
                fields: c.fields(upstream.url),
              },
            ],
            virtualKeys: [vk.entry],
          },
        ],
      });
      openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: vk.key, maxRetries: 0 });
      anthropic = new Anthropic({ baseURL: h.url, apiKey: vk.key, maxRetries: 0 });
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    it('chat: plain answer in OpenAI format, tenant key upstream, key source header', async () => {
      const { data, response } = await openai.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      expect(data.choices[0]!.message.content).toBe(TEXT(c.provider));
      expect(data.object).toBe('chat.completion');
      expect(data.choices[0]!.finish_reason).toBe('stop');
      expect(data.usage?.total_tokens).toBe(15);
      expect(validateOpenAI('CreateChatCompletionResponse', data)).toEqual([]);
      expect(response.headers.get('x-keyhold-key-source')).toBe('tenant');
      expect(response.headers.get('x-request-id')).toMatch(/^req_/);
      expect(Number(response.headers.get('x-keyhold-overhead-ms'))).toBeGreaterThanOrEqual(0);
      expect(c.keyOf(upstream.requests.at(-1)!)).toBe(tenantKey);
    });

    it('chat: an alias routes to its model', async () => {
      const data = await openai.chat.completions.create({
        model: 'smart',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(data.choices[0]!.message.content).toBe(TEXT(c.provider));
      expect(data.model).toBe('smart');
    });

    it('chat: tool calls', async () => {
      const data = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [weatherTool],
      });
      const call = data.choices[0]!.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      expect(call?.type === 'function' && call.function.name).toBe('get_weather');
      expect(JSON.parse(call?.type === 'function' ? call.function.arguments : '{}')).toEqual({
        city: 'Paris',
      });
      expect(data.choices[0]!.finish_reason).toBe('tool_calls');
      expect(validateOpenAI('CreateChatCompletionResponse', data)).toEqual([]);
    });

    it('chat: streaming with usage, every chunk valid, [DONE] ends it', async () => {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      const chunks = [];
      for await (const chunk of stream) {
        chunks.push(chunk);
        expect(validateOpenAI('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe(TEXT(c.provider));
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage?.total_tokens).toBe(15);
      expect(chunks.slice(0, -1).every((ch) => ch.usage === null)).toBe(true);
      expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    });

    it('chat: streamed tool call deltas', async () => {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [weatherTool],
        stream: true,
      });
      let args = '';
      let name = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
          expect(tc.index).toBe(0);
          name += tc.function?.name ?? '';
          args += tc.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(name).toBe('get_weather');
      expect(JSON.parse(args)).toEqual({ city: 'Paris' });
      expect(finish).toBe('tool_calls');
    });

    if (c.embeddings) {
      it('embeddings: base64 (SDK default) and float', async () => {
        const data = await openai.embeddings.create({ model, input: ['a', 'b'] });
        expect(data.data).toHaveLength(2);
        for (const [i, value] of (data.data[0]!.embedding as number[]).entries())
          expect(value).toBeCloseTo(VECTOR[i]!, 6);
        const floats = await openai.embeddings.create({ model, input: 'a', encoding_format: 'float' });
        expect(floats.data[0]!.embedding).toEqual(VECTOR);
        expect(validateOpenAI('CreateEmbeddingResponse', floats)).toEqual([]);
      });
    }

    it('models: lists the alias and the model the tenant may use', async () => {
      const list = await openai.models.list();
      const ids = list.data.map((m) => m.id);
      expect(ids).toEqual(['smart', model]);
      const res = await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${vk.key}` } });
      expect(validateOpenAI('ListModelsResponse', await res.json())).toEqual([]);
    });

    it('anthropic SDK: message, tool use and stream on /v1/messages', async () => {
      const message = await anthropic.messages.create({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(message.content[0]).toMatchObject({ type: 'text', text: TEXT(c.provider) });
      expect(message.stop_reason).toBe('end_turn');

      const tooled = await anthropic.messages.create({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [
          { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        ],
      });
      expect(tooled.content.find((b) => b.type === 'tool_use')).toMatchObject({
        name: 'get_weather',
        input: { city: 'Paris' },
      });
      expect(tooled.stop_reason).toBe('tool_use');

      const stream = anthropic.messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      const final = await stream.finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'text', text: TEXT(c.provider) });
      expect(final.usage.output_tokens).toBe(5);
      expect(c.keyOf(upstream.requests.at(-1)!)).toBe(tenantKey);
    });
  });
}

describe('provider fake (operator key, no network)', () => {
  let h: Harness;
  const vk = virtualKey('demo-key');
  beforeAll(async () => {
    h = await startGateway({
      mode: 'shared',
      models: { aliases: { demo: 'fake/echo-1' } },
      operatorKeys: [{ id: 'op-fake', provider: 'fake', secrets: { apiKey: 'fake-operator-key' } }],
      tenants: [
        {
          id: 'demo',
          settings: { allowOperatorFallback: true, defaultModel: 'demo' },
          virtualKeys: [vk.entry],
        },
      ],
    });
  });
  afterAll(() => h.close());

  it('answers with the tenant default model, through the operator key', async () => {
    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: vk.key, maxRetries: 0 });
    const { data, response } = await openai.chat.completions
      .create({
        messages: [{ role: 'user', content: 'Hello' }],
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('You said: Hello');
    expect(data.model).toBe('demo');
    expect(response.headers.get('x-keyhold-key-source')).toBe('operator');
    const embedded = await openai.embeddings.create({ model: 'demo', input: 'x' });
    expect(embedded.data[0]!.embedding).toHaveLength(8);
    expect(h.usage.map((u) => [u.operation, u.keySource, u.credentialId, u.status])).toEqual([
      ['chat', 'operator', 'op-fake', 'ok'],
      ['embedding', 'operator', 'op-fake', 'ok'],
    ]);
    expect(h.usage[0]!.outputTokens).toBeGreaterThan(0);
  });
});
