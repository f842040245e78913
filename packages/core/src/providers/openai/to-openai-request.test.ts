import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../errors.js';
import { quirksOf } from './openai-provider-quirks.js';
import {
  richRequest,
  richWireMessages,
  richWireResponseFormat,
  richWireTools,
} from './testing/rich-request.js';
import { toOpenAIEmbeddingRequest, toOpenAIRequest } from './to-openai-request.js';

describe('toOpenAIRequest', () => {
  it('maps every neutral field to OpenAI’s wire, with max_completion_tokens for OpenAI', () => {
    expect(toOpenAIRequest(richRequest, { stream: false, quirks: quirksOf('openai') })).toEqual({
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

  it('asks for stream usage on OpenAI and the compatible family that accepts it', () => {
    for (const provider of ['openai', 'groq', 'deepseek', 'xai', 'together', 'ollama', 'vllm']) {
      const body = toOpenAIRequest(
        { model: 'm', messages: [] },
        { stream: true, quirks: quirksOf(provider) },
      );
      expect(body, provider).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    }
  });

  it('sends the compatible family max_tokens', () => {
    for (const provider of ['groq', 'deepseek', 'xai', 'together', 'fireworks', 'openrouter', 'vllm']) {
      const body = toOpenAIRequest(
        { model: 'm', messages: [], maxTokens: 5 },
        { stream: false, quirks: quirksOf(provider) },
      );
      expect(body, provider).toEqual({ model: 'm', messages: [], max_tokens: 5 });
    }
  });

  it('leaves out what Mistral forbids: stream_options, user, message names; seed becomes random_seed', () => {
    const body = toOpenAIRequest(richRequest, { stream: true, quirks: quirksOf('mistral') });
    expect(body).not.toHaveProperty('stream_options');
    expect(body).not.toHaveProperty('user');
    expect(body).not.toHaveProperty('seed');
    expect(body).not.toHaveProperty('max_completion_tokens');
    expect(body).toMatchObject({ stream: true, random_seed: 7, max_tokens: 300 });
    expect((body.messages as { name?: string }[])[1]).not.toHaveProperty('name');
  });

  it('gives old Azure api-versions only the arguments they know', () => {
    const request = { model: 'm', messages: [], maxTokens: 9 };
    const ga = toOpenAIRequest(request, {
      stream: true,
      quirks: quirksOf('azure', { apiVersion: '2024-10-21' }),
    });
    expect(ga).toMatchObject({ max_completion_tokens: 9, stream_options: { include_usage: true } });
    const summer = toOpenAIRequest(request, {
      stream: true,
      quirks: quirksOf('azure', { apiVersion: '2024-08-01-preview' }),
    });
    expect(summer).toMatchObject({ max_tokens: 9, stream_options: { include_usage: true } });
    const old = toOpenAIRequest(request, {
      stream: true,
      quirks: quirksOf('azure', { apiVersion: '2024-02-01' }),
    });
    expect(old).toEqual({ model: 'm', messages: [], max_tokens: 9, stream: true });
  });

  it('maps the string tool choices and the JSON modes', () => {
    const quirks = quirksOf('openai');
    for (const choice of ['auto', 'none', 'required'] as const) {
      const body = toOpenAIRequest(
        { model: 'm', messages: [], toolChoice: choice },
        { stream: false, quirks },
      );
      expect(body.tool_choice).toBe(choice);
    }
    expect(
      toOpenAIRequest(
        { model: 'm', messages: [], responseFormat: { type: 'json' } },
        { stream: false, quirks },
      ).response_format,
    ).toEqual({ type: 'json_object' });
    expect(
      toOpenAIRequest(
        { model: 'm', messages: [], responseFormat: { type: 'text' } },
        { stream: false, quirks },
      ).response_format,
    ).toEqual({ type: 'text' });
  });

  it('sends parallel_tool_calls only with tools (OpenAI rejects it alone)', () => {
    const body = toOpenAIRequest(
      { model: 'm', messages: [], parallelToolCalls: true },
      { stream: false, quirks: quirksOf('openai') },
    );
    expect(body).not.toHaveProperty('parallel_tool_calls');
  });

  it('rejects an image part with neither url nor data', () => {
    expect(() =>
      toOpenAIRequest(
        { model: 'm', messages: [{ role: 'user', content: [{ type: 'image' }] }] },
        { stream: false, quirks: quirksOf('openai') },
      ),
    ).toThrow(InvalidRequestError);
  });
});

describe('toOpenAIEmbeddingRequest', () => {
  it('asks for floats and passes dimensions and user', () => {
    expect(
      toOpenAIEmbeddingRequest(
        { model: 'text-embedding-3-small', input: ['a', 'b'], dimensions: 256, user: 'u1' },
        quirksOf('openai'),
      ),
    ).toEqual({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
      dimensions: 256,
      user: 'u1',
    });
  });

  it('uses Mistral’s output_dimension and sends it no user', () => {
    expect(
      toOpenAIEmbeddingRequest(
        { model: 'mistral-embed', input: ['a'], dimensions: 256, user: 'u1' },
        quirksOf('mistral'),
      ),
    ).toEqual({ model: 'mistral-embed', input: ['a'], encoding_format: 'float', output_dimension: 256 });
  });
});
