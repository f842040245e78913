import type { ChatRequest } from '../../../types/index.js';

/** A tiny PNG, base64. */
export const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** A request that uses every neutral field. */
export const RICH_REQUEST: ChatRequest = {
  model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      name: 'alice',
      content: [
        { type: 'text', text: 'What is in this image, and the weather in Lyon?' },
        { type: 'image', data: PNG, mediaType: 'image/png' },
        { type: 'image', url: `data:image/jpeg;base64,${PNG}` },
      ],
    },
    {
      role: 'assistant',
      content: 'Let me check.',
      toolCalls: [
        { id: 'tooluse_1', name: 'get_weather', arguments: '{"city":"Lyon"}' },
        { id: 'tooluse_2', name: 'get_time', arguments: '' },
      ],
    },
    { role: 'tool', toolCallId: 'tooluse_1', name: 'get_weather', content: '{"tempC":21}' },
    { role: 'tool', toolCallId: 'tooluse_2', name: 'get_time', content: '14:05' },
    { role: 'user', content: 'Thanks. Summarise.' },
  ],
  tools: [
    {
      name: 'get_weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
    { name: 'get_time', parameters: { type: 'object', properties: {} } },
  ],
  toolChoice: { name: 'get_weather' },
  parallelToolCalls: false,
  temperature: 0.2,
  maxTokens: 512,
  topP: 0.9,
  stop: ['END'],
  responseFormat: {
    type: 'json_schema',
    name: 'summary',
    schema: { type: 'object', properties: { text: { type: 'string' } } },
  },
  seed: 42,
  user: 'end-user-7',
};

/** The exact Converse body for RICH_REQUEST. */
export const RICH_WIRE = {
  messages: [
    {
      role: 'user',
      content: [
        { text: 'What is in this image, and the weather in Lyon?' },
        { image: { format: 'png', source: { bytes: PNG } } },
        { image: { format: 'jpeg', source: { bytes: PNG } } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { text: 'Let me check.' },
        { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Lyon' } } },
        { toolUse: { toolUseId: 'tooluse_2', name: 'get_time', input: {} } },
      ],
    },
    {
      role: 'user',
      content: [
        { toolResult: { toolUseId: 'tooluse_1', content: [{ json: { tempC: 21 } }] } },
        { toolResult: { toolUseId: 'tooluse_2', content: [{ text: '14:05' }] } },
        { text: 'Thanks. Summarise.' },
      ],
    },
  ],
  system: [
    { text: 'You are terse.' },
    {
      text: 'Respond only with a valid JSON object that matches the JSON schema "summary", and nothing else.\nJSON schema: {"type":"object","properties":{"text":{"type":"string"}}}',
    },
  ],
  inferenceConfig: { maxTokens: 512, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
  toolConfig: {
    tools: [
      {
        toolSpec: {
          name: 'get_weather',
          description: 'Current weather',
          inputSchema: {
            json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      },
      { toolSpec: { name: 'get_time', inputSchema: { json: { type: 'object', properties: {} } } } },
    ],
    toolChoice: { tool: { name: 'get_weather' } },
  },
};
