import type { ChatRequest } from '../../../types/index.js';

/** A neutral request that uses every field the OpenAI wire can carry. */
export const richRequest: ChatRequest = {
  model: 'gpt-4.1-mini',
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture, and the weather?' },
        { type: 'image', url: 'https://example.com/cat.png', detail: 'low' },
        { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
      ],
      name: 'alice',
    },
    {
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' },
        { id: 'call_2', name: 'clock', arguments: '{}' },
      ],
    },
    { role: 'tool', toolCallId: 'call_1', name: 'weather', content: '{"temp":-3}' },
    { role: 'tool', toolCallId: 'call_2', name: 'clock', content: '"12:00"' },
  ],
  tools: [
    {
      name: 'weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: true,
    },
    { name: 'clock', parameters: { type: 'object', properties: {} } },
  ],
  toolChoice: { name: 'weather' },
  parallelToolCalls: false,
  temperature: 0.2,
  topP: 0.9,
  maxTokens: 300,
  stop: ['END'],
  seed: 7,
  user: 'end-user-42',
  responseFormat: {
    type: 'json_schema',
    name: 'answer',
    description: 'The answer',
    schema: { type: 'object', properties: { text: { type: 'string' } } },
    strict: true,
  },
};

/** The OpenAI wire body of `richRequest`, without the provider-dependent fields. */
export const richWireMessages = [
  { role: 'system', content: 'You are terse.' },
  {
    role: 'user',
    name: 'alice',
    content: [
      { type: 'text', text: 'What is in this picture, and the weather?' },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ],
  },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_2', type: 'function', function: { name: 'clock', arguments: '{}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: '{"temp":-3}' },
  { role: 'tool', tool_call_id: 'call_2', content: '"12:00"' },
];

export const richWireTools = [
  {
    type: 'function',
    function: {
      name: 'weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: true,
    },
  },
  { type: 'function', function: { name: 'clock', parameters: { type: 'object', properties: {} } } },
];

export const richWireResponseFormat = {
  type: 'json_schema',
  json_schema: {
    name: 'answer',
    description: 'The answer',
    schema: { type: 'object', properties: { text: { type: 'string' } } },
    strict: true,
  },
};
