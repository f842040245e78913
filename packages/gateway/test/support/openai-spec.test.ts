import { describe, expect, it } from 'vitest';
import { openAISchemaSource, validateOpenAI } from './openai-spec.js';

const completion = {
  id: 'chatcmpl-keyhold-1',
  object: 'chat.completion',
  created: 1_760_000_000,
  model: 'anthropic/claude-sonnet-4-5',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 0 },
  },
};

const chunk = {
  id: 'chatcmpl-keyhold-1',
  object: 'chat.completion.chunk',
  created: 1_760_000_000,
  model: 'anthropic/claude-sonnet-4-5',
  choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, logprobs: null, finish_reason: null }],
  usage: null,
};

const usageChunk = {
  ...chunk,
  choices: [],
  usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 },
};

const toolChunk = {
  ...chunk,
  choices: [
    {
      index: 0,
      delta: {
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }],
      },
      finish_reason: null,
    },
  ],
};

const embeddings = {
  object: 'list',
  model: 'openai/text-embedding-3-small',
  data: [
    { object: 'embedding', index: 0, embedding: [0.0023064255, -0.009327292] },
    { object: 'embedding', index: 1, embedding: [0.5, 1] },
  ],
  usage: { prompt_tokens: 8, total_tokens: 8 },
};

/** Two float32 values, little-endian, as the OpenAI API sends them for encoding_format "base64". */
const base64Vector = Buffer.from(new Float32Array([0.25, -1.5]).buffer).toString('base64');

const models = {
  object: 'list',
  data: [
    { id: 'openai/gpt-4o', object: 'model', created: 1_715_367_049, owned_by: 'openai' },
    { id: 'fake/echo', object: 'model', created: 0, owned_by: 'keyhold' },
  ],
};

const errorBody = {
  error: {
    message: 'Invalid virtual key.',
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
};

function without(value: unknown, path: Array<string | number>): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  delete node[path.at(-1)!];
  return copy;
}

describe('validateOpenAI: valid bodies pass', () => {
  it.each([
    ['CreateChatCompletionResponse', completion],
    ['CreateChatCompletionResponse', { ...completion, service_tier: 'default', keyhold_extra: 1 }],
    ['CreateChatCompletionStreamResponse', chunk],
    ['CreateChatCompletionStreamResponse', usageChunk],
    ['CreateChatCompletionStreamResponse', toolChunk],
    ['CreateEmbeddingResponse', embeddings],
    ['ListModelsResponse', models],
    ['ListModelsResponse', { object: 'list', data: [] }],
    ['ErrorResponse', errorBody],
  ] as const)('%s', (name, body) => {
    expect(validateOpenAI(name, body)).toEqual([]);
  });

  it('accepts a text answer with annotations and a finish chunk', () => {
    const text = structuredClone(completion);
    text.choices[0]!.message = { role: 'assistant', content: 'Hi', refusal: null, annotations: [] } as never;
    text.choices[0]!.finish_reason = 'stop';
    expect(validateOpenAI('CreateChatCompletionResponse', text)).toEqual([]);
    const finish = { ...chunk, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] };
    expect(validateOpenAI('CreateChatCompletionStreamResponse', finish)).toEqual([]);
  });
});

describe('validateOpenAI: what the schema requires', () => {
  it('refuses a message without refusal, naming the path and property', () => {
    const errors = validateOpenAI(
      'CreateChatCompletionResponse',
      without(completion, ['choices', 0, 'message', 'refusal']),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\/choices\/0\/message must have required property 'refusal'/);
  });

  it('refuses a choice without logprobs', () => {
    const errors = validateOpenAI(
      'CreateChatCompletionResponse',
      without(completion, ['choices', 0, 'logprobs']),
    );
    expect(errors.join('\n')).toMatch(/\/choices\/0 must have required property 'logprobs'/);
  });

  it('refuses wrong values and types', () => {
    expect(
      validateOpenAI('CreateChatCompletionResponse', { ...completion, object: 'chat.completion.chunk' }),
    ).not.toEqual([]);
    expect(
      validateOpenAI('CreateChatCompletionResponse', { ...completion, created: '1760000000' }),
    ).not.toEqual([]);
    expect(validateOpenAI('CreateChatCompletionResponse', { ...completion, created: -5 })).not.toEqual([]);
    const badFinish = structuredClone(completion);
    badFinish.choices[0]!.finish_reason = 'end_turn';
    expect(validateOpenAI('CreateChatCompletionResponse', badFinish).join('\n')).toMatch(
      /finish_reason.*allowed values/,
    );
    expect(
      validateOpenAI('CreateChatCompletionStreamResponse', { ...chunk, usage: { prompt_tokens: 1 } }),
    ).not.toEqual([]);
    expect(validateOpenAI('ErrorResponse', { error: { message: 'x', type: 'y' } }).join('\n')).toMatch(
      /param/,
    );
    expect(
      validateOpenAI('ListModelsResponse', { object: 'list', data: [{ id: 'm', object: 'model' }] }),
    ).not.toEqual([]);
    expect(validateOpenAI('ErrorResponse', 'Internal Server Error')).toEqual([
      expect.stringMatching(/^\(root\) must be object/),
    ]);
  });
});

describe('validateOpenAI: embeddings encoding', () => {
  const base64Body = { ...embeddings, data: [{ object: 'embedding', index: 0, embedding: base64Vector }] };

  it('refuses a base64 vector against the schema as published', () => {
    expect(validateOpenAI('CreateEmbeddingResponse', base64Body).join('\n')).toMatch(
      /\/data\/0\/embedding must be array/,
    );
  });

  it('accepts it with embeddingEncoding "base64", and then refuses number arrays', () => {
    expect(validateOpenAI('CreateEmbeddingResponse', base64Body, { embeddingEncoding: 'base64' })).toEqual(
      [],
    );
    expect(
      validateOpenAI('CreateEmbeddingResponse', embeddings, { embeddingEncoding: 'base64' }),
    ).not.toEqual([]);
  });

  it.each([
    ['not base64', 'not base64!'],
    ['a length that is not whole float32 values', Buffer.from([1, 2, 3]).toString('base64')],
    ['an empty string', ''],
  ])('refuses %s', (_name, embedding) => {
    const body = { ...embeddings, data: [{ object: 'embedding', index: 0, embedding }] };
    expect(validateOpenAI('CreateEmbeddingResponse', body, { embeddingEncoding: 'base64' })).not.toEqual([]);
  });

  it('leaves the other schemas alone in base64 mode', () => {
    expect(
      validateOpenAI('CreateChatCompletionResponse', completion, { embeddingEncoding: 'base64' }),
    ).toEqual([]);
  });
});

describe('openai-schemas.json', () => {
  it('records where the schemas came from', () => {
    expect(openAISchemaSource).toMatchObject({
      repository: 'openai/openai-openapi',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      licence: 'MIT',
    });
  });
});
