import { describe, expect, it } from 'vitest';
import { parseAnthropicMessagesRequest } from './parse-messages-request.js';

const base = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 64 };
const hello = [{ role: 'user', content: 'Hello' }];

function parse(body: unknown) {
  return parseAnthropicMessagesRequest(body);
}

/** The refusal's `param` and message, or a failure when the body was accepted. */
function refusal(body: unknown): { param: string | undefined; message: string } {
  const result = parse(body);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return { param: result.param, message: result.message };
}

describe('parseAnthropicMessagesRequest: the happy path', () => {
  it('maps a minimal request', () => {
    expect(parse({ ...base, messages: hello })).toEqual({
      ok: true,
      value: { model: base.model, stream: false, input: { messages: hello, maxTokens: 64 } },
    });
  });

  it('maps a string system prompt, stream, sampling and metadata', () => {
    const result = parse({
      ...base,
      system: 'Be brief.',
      stream: true,
      temperature: 0,
      top_p: 1,
      top_k: 5,
      stop_sequences: ['\n\nHuman:', 'STOP'],
      metadata: { user_id: 'u-1' },
      messages: hello,
    });
    expect(result).toEqual({
      ok: true,
      value: {
        model: base.model,
        stream: true,
        input: {
          messages: [{ role: 'system', content: 'Be brief.' }, ...hello],
          maxTokens: 64,
          temperature: 0,
          topP: 1,
          stop: ['\n\nHuman:', 'STOP'],
          user: 'u-1',
        },
      },
    });
  });

  it('drops an empty system prompt, empty stop list and null user id', () => {
    const result = parse({
      ...base,
      system: '',
      stop_sequences: [],
      metadata: { user_id: null },
      messages: hello,
    });
    expect(result.ok && result.value.input).toEqual({ messages: hello, maxTokens: 64 });
  });

  it('maps tool_choice variants and disable_parallel_tool_use', () => {
    const choice = (tool_choice: unknown) => {
      const result = parse({ ...base, messages: hello, tool_choice });
      return result.ok
        ? { c: result.value.input.toolChoice, p: result.value.input.parallelToolCalls }
        : result;
    };
    expect(choice({ type: 'auto' })).toEqual({ c: 'auto', p: undefined });
    expect(choice({ type: 'any', disable_parallel_tool_use: false })).toEqual({ c: 'required', p: true });
    expect(choice({ type: 'tool', name: 'f', disable_parallel_tool_use: true })).toEqual({
      c: { name: 'f' },
      p: false,
    });
    expect(choice({ type: 'none' })).toEqual({ c: 'none', p: undefined });
  });

  it('maps custom tools, with type "custom" and strict', () => {
    const result = parse({
      ...base,
      messages: hello,
      tools: [
        { name: 'a', input_schema: { type: 'object' } },
        { type: 'custom', name: 'b', description: 'B', input_schema: { type: 'object' }, strict: true },
      ],
    });
    expect(result.ok && result.value.input.tools).toEqual([
      { name: 'a', parameters: { type: 'object' } },
      { name: 'b', description: 'B', parameters: { type: 'object' }, strict: true },
    ]);
  });

  it('maps output_config.format json_schema to a responseFormat and ignores effort and thinking', () => {
    const schema = { type: 'object', properties: { x: { type: 'number' } } };
    const result = parse({
      ...base,
      messages: hello,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      output_config: { effort: 'low', format: { type: 'json_schema', schema } },
    });
    expect(result.ok && result.value.input.responseFormat).toEqual({
      type: 'json_schema',
      name: 'response',
      schema,
    });
  });

  it('maps a tool round trip: tool_use ids give the tool_result its name; results come as tool messages', () => {
    const result = parse({
      ...base,
      messages: [
        { role: 'user', content: 'Weather and time?' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 't1', name: 'weather', input: { city: 'Oslo' } },
            { type: 'tool_use', id: 't2', name: 'time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: '3°C', is_error: false },
            {
              type: 'tool_result',
              tool_use_id: 't2',
              content: [
                { type: 'text', text: 'a' },
                { type: 'text', text: 'b' },
              ],
            },
            { type: 'tool_result', tool_use_id: 'unknown', is_error: true },
          ],
        },
      ],
    });
    expect(result.ok && result.value.input.messages).toEqual([
      { role: 'user', content: 'Weather and time?' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [
          { id: 't1', name: 'weather', arguments: '{"city":"Oslo"}' },
          { id: 't2', name: 'time', arguments: '{}' },
        ],
      },
      { role: 'tool', toolCallId: 't1', name: 'weather', content: '3°C' },
      { role: 'tool', toolCallId: 't2', name: 'time', content: 'a\nb' },
      { role: 'tool', toolCallId: 'unknown', content: '' },
    ]);
  });

  it('keeps block order: parts before a tool result are flushed as their own user message', () => {
    const result = parse({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'before' },
            { type: 'tool_result', tool_use_id: 'x', content: 'r' },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
          ],
        },
      ],
    });
    expect(result.ok && result.value.input.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'before' }] },
      { role: 'tool', toolCallId: 'x', content: 'r' },
      { role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] },
    ]);
  });

  it('joins assistant text blocks, drops thinking blocks, accepts string content and role "system"', () => {
    const result = parse({
      ...base,
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'sys' }] },
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: [
            { type: 'redacted_thinking', data: 'xyz' },
            { type: 'text', text: 'Hel' },
            { type: 'text', text: 'lo' },
          ],
        },
        { role: 'assistant', content: 'plain' },
      ],
    });
    expect(result.ok && result.value.input.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'Hello' },
      { role: 'assistant', content: 'plain' },
    ]);
  });
});

describe('parseAnthropicMessagesRequest: refusals name the offending field', () => {
  const cases: Array<[string, unknown, string | undefined]> = [
    ['a non-object body', [1, 2], undefined],
    ['a null body', null, undefined],
    ['a string body', '{"model":"x"}', undefined],
    ['missing model', { max_tokens: 1, messages: hello }, 'model'],
    ['a numeric model', { model: 7, max_tokens: 1, messages: hello }, 'model'],
    ['a blank model', { model: '  ', max_tokens: 1, messages: hello }, 'model'],
    ['missing max_tokens', { model: 'm', messages: hello }, 'max_tokens'],
    ['zero max_tokens', { ...base, max_tokens: 0, messages: hello }, 'max_tokens'],
    ['fractional max_tokens', { ...base, max_tokens: 1.5, messages: hello }, 'max_tokens'],
    ['string max_tokens', { ...base, max_tokens: '10', messages: hello }, 'max_tokens'],
    ['missing messages', base, 'messages'],
    ['empty messages', { ...base, messages: [] }, 'messages'],
    ['messages as an object', { ...base, messages: { 0: hello[0] } }, 'messages'],
    ['a message that is a string', { ...base, messages: ['hi'] }, 'messages.0'],
    ['an unknown role', { ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role'],
    ['numeric content', { ...base, messages: [{ role: 'user', content: 5 }] }, 'messages.0.content'],
    ['missing content', { ...base, messages: [{ role: 'user' }] }, 'messages.0.content'],
    ['empty block list', { ...base, messages: [{ role: 'user', content: [] }] }, 'messages.0.content'],
    ['a null block', { ...base, messages: [{ role: 'user', content: [null] }] }, 'messages.0.content.0'],
    [
      'an unknown block type, deep in the list',
      {
        ...base,
        messages: [
          ...hello,
          { role: 'assistant', content: 'a' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'document', source: {} },
            ],
          },
        ],
      },
      'messages.2.content.1.type',
    ],
    [
      'a block without type',
      { ...base, messages: [{ role: 'user', content: [{ text: 'x' }] }] },
      'messages.0.content.0.type',
    ],
    [
      'a text block with numeric text',
      { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 1 }] }] },
      'messages.0.content.0.text',
    ],
    [
      'tool_use in a user turn',
      {
        ...base,
        messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }],
      },
      'messages.0.content.0.type',
    ],
    [
      'tool_result in an assistant turn',
      { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'a' }] }] },
      'messages.0.content.0.type',
    ],
    [
      'an image in an assistant turn',
      {
        ...base,
        messages: [
          { role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'https://a.b/c' } }] },
        ],
      },
      'messages.0.content.0.type',
    ],
    [
      'an image with an unsupported media type',
      {
        ...base,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'AA' } }],
          },
        ],
      },
      'messages.0.content.0.source.media_type',
    ],
    [
      'an image without data',
      {
        ...base,
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }] },
        ],
      },
      'messages.0.content.0.source.data',
    ],
    [
      'an image with a file: URL',
      {
        ...base,
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }] },
        ],
      },
      'messages.0.content.0.source.url',
    ],
    [
      'an image with a file source',
      {
        ...base,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }],
      },
      'messages.0.content.0.source.type',
    ],
    [
      'tool_use without id',
      { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }] },
      'messages.0.content.0.id',
    ],
    [
      'tool_use with array input',
      {
        ...base,
        messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'f', input: [] }] }],
      },
      'messages.0.content.0.input',
    ],
    [
      'tool_result with numeric tool_use_id',
      { ...base, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 3 }] }] },
      'messages.0.content.0.tool_use_id',
    ],
    [
      'tool_result with a string is_error',
      {
        ...base,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', is_error: 'yes' }] }],
      },
      'messages.0.content.0.is_error',
    ],
    [
      'an image inside a tool_result',
      {
        ...base,
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'a',
                content: [{ type: 'image', source: { type: 'url', url: 'https://a.b/c.png' } }],
              },
            ],
          },
        ],
      },
      'messages.0.content.0.content.0.type',
    ],
    ['a numeric system', { ...base, system: 3, messages: hello }, 'system'],
    ['a system image block', { ...base, system: [{ type: 'image' }], messages: hello }, 'system.0.type'],
    ['temperature above 1', { ...base, temperature: 1.5, messages: hello }, 'temperature'],
    ['a string temperature', { ...base, temperature: '0.5', messages: hello }, 'temperature'],
    ['negative top_p', { ...base, top_p: -0.1, messages: hello }, 'top_p'],
    ['fractional top_k', { ...base, top_k: 2.5, messages: hello }, 'top_k'],
    ['a string stream', { ...base, stream: 'true', messages: hello }, 'stream'],
    ['stop_sequences as a string', { ...base, stop_sequences: 'END', messages: hello }, 'stop_sequences'],
    ['a numeric stop sequence', { ...base, stop_sequences: ['a', 1], messages: hello }, 'stop_sequences.1'],
    ['metadata as a string', { ...base, metadata: 'u', messages: hello }, 'metadata'],
    ['a numeric user_id', { ...base, metadata: { user_id: 5 }, messages: hello }, 'metadata.user_id'],
    ['tools as an object', { ...base, tools: {}, messages: hello }, 'tools'],
    ['a tool without name', { ...base, tools: [{ input_schema: {} }], messages: hello }, 'tools.0.name'],
    ['a tool without schema', { ...base, tools: [{ name: 'f' }], messages: hello }, 'tools.0.input_schema'],
    [
      'a server tool',
      { ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: hello },
      'tools.0.type',
    ],
    [
      'a numeric description',
      { ...base, tools: [{ name: 'f', description: 1, input_schema: {} }], messages: hello },
      'tools.0.description',
    ],
    ['tool_choice as a string', { ...base, tool_choice: 'auto', messages: hello }, 'tool_choice'],
    [
      'an unknown tool_choice type',
      { ...base, tool_choice: { type: 'required' }, messages: hello },
      'tool_choice.type',
    ],
    [
      'tool_choice tool without name',
      { ...base, tool_choice: { type: 'tool' }, messages: hello },
      'tool_choice.name',
    ],
    [
      'a string disable_parallel_tool_use',
      { ...base, tool_choice: { type: 'auto', disable_parallel_tool_use: 'no' }, messages: hello },
      'tool_choice.disable_parallel_tool_use',
    ],
    ['thinking as a string', { ...base, thinking: 'on', messages: hello }, 'thinking'],
    [
      'an output format that is not json_schema',
      { ...base, output_config: { format: { type: 'text' } }, messages: hello },
      'output_config.format.type',
    ],
  ];

  for (const [name, body, param] of cases) {
    it(`refuses ${name}`, () => {
      const result = refusal(body);
      expect(result.param).toBe(param);
      expect(result.message).toMatch(
        param === undefined ? /JSON object/ : new RegExp(`^${param.replace(/\./g, '\\.')}: `),
      );
    });
  }
});

describe('parseAnthropicMessagesRequest: hostile input', () => {
  it('ignores __proto__ keys: an inherited model or max_tokens does not count', () => {
    const body = JSON.parse(
      '{"__proto__":{"model":"m","max_tokens":5},"messages":[{"role":"user","content":"x"}]}',
    );
    expect(refusal(body).param).toBe('model');
    const withModel = JSON.parse(
      '{"model":"m","__proto__":{"max_tokens":5},"messages":[{"role":"user","content":"x"}]}',
    );
    expect(refusal(withModel).param).toBe('max_tokens');
    expect(({} as Record<string, unknown>).max_tokens).toBeUndefined();
  });

  it('does not take a field from the prototype chain of a crafted object', () => {
    const proto = { model: 'm', max_tokens: 5, messages: hello };
    expect(refusal(Object.create(proto)).param).toBe('model');
    const role = Object.create({ role: 'user' });
    role.content = 'x';
    expect(refusal({ ...base, messages: [role] }).param).toBe('messages.0.role');
  });

  it('passes a __proto__ key inside a tool schema or input through as data, without polluting prototypes', () => {
    const body = JSON.parse(
      '{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object","__proto__":{"polluted":true}}}],' +
        '"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{"__proto__":{"x":1}}}]}]}',
    );
    const result = parse(body);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const assistant = result.value.input.messages[0];
    expect(assistant?.role === 'assistant' && assistant.toolCalls?.[0]?.arguments).toBe(
      '{"__proto__":{"x":1}}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses a tool input or schema nested deeper than the limit, without overflowing the stack', () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const input = parse(
      JSON.parse(
        `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":${deep}}]}]}`,
      ),
    );
    expect(input).toMatchObject({ ok: false, param: 'messages.0.content.0.input' });
    const schema = parse(
      JSON.parse(`{"model":"m","max_tokens":5,"messages":[],"tools":[{"name":"f","input_schema":${deep}}]}`),
    );
    // messages is checked first; with a valid turn, the schema is the refusal.
    expect(schema).toMatchObject({ ok: false, param: 'messages' });
    const schemaOnly = parse(
      JSON.parse(
        `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":${deep}}]}`,
      ),
    );
    expect(schemaOnly).toMatchObject({ ok: false, param: 'tools.0.input_schema' });
  });

  it('accepts a schema just inside the depth limit', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 62; i++) schema = { type: 'object', properties: { a: schema } };
    // 62 wrappers × 2 levels (schema + properties) + the leaf is 125 levels: over the limit of 64.
    expect(parse({ ...base, messages: hello, tools: [{ name: 'f', input_schema: schema }] }).ok).toBe(false);
    let shallow: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 31; i++) shallow = { type: 'object', properties: { a: shallow } };
    // 31 × 2 + 1 = 63 levels.
    expect(parse({ ...base, messages: hello, tools: [{ name: 'f', input_schema: shallow }] }).ok).toBe(true);
  });

  it('parses a huge message array in linear time and refuses a bad element far down it', () => {
    const many = Array.from({ length: 50_000 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `m${i}`,
    }));
    const started = Date.now();
    const result = parse({ ...base, messages: many });
    expect(result.ok && result.value.input.messages.length).toBe(50_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    many[49_999] = { role: 'user', content: 7 } as never;
    expect(refusal({ ...base, messages: many }).param).toBe('messages.49999.content');
  });

  it('shortens a huge unknown block type in the message', () => {
    const type = 'x'.repeat(100_000);
    const result = refusal({ ...base, messages: [{ role: 'user', content: [{ type }] }] });
    expect(result.message.length).toBeLessThan(200);
  });

  it('never throws on arbitrary wrong-typed values', () => {
    const values: unknown[] = [
      undefined,
      null,
      0,
      -1,
      Number.NaN,
      '',
      'x',
      true,
      [],
      {},
      [null],
      [[]],
      { type: 1 },
    ];
    const fields = [
      'model',
      'max_tokens',
      'messages',
      'system',
      'tools',
      'tool_choice',
      'metadata',
      'stop_sequences',
    ];
    for (const field of fields) {
      for (const value of values) {
        expect(() => parse({ ...base, messages: hello, [field]: value })).not.toThrow();
      }
    }
  });
});
