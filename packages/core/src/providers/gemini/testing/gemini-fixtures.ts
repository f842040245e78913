import { readFileSync } from 'node:fs';
import type { ChatRequest } from '../../../types/index.js';

const folder = new URL('../__fixtures__/', import.meta.url);

/** A recorded-style Gemini response or error body from `__fixtures__/`, parsed. */
// biome-ignore lint/suspicious/noExplicitAny: fixture bodies are untyped wire data that tests edit freely.
export function geminiFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, folder), 'utf8')) as T;
}

/** The stream chunks of a `*.chunks.txt` fixture: one JSON document per line, as SSE data. */
export function geminiChunks(name: string): { data: string }[] {
  return readFileSync(new URL(name, folder), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((data) => ({ data }));
}

/** A minimal successful `generateContent` body with this text. */
export function geminiTextBody(text: string, responseId = 'resp-1'): Record<string, unknown> {
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
    modelVersion: 'gemini-2.5-flash',
    responseId,
  };
}

/** A 1×1 PNG, base64. */
export const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Every neutral feature in one request. */
export const richRequest: ChatRequest = {
  model: 'gemini-2.5-flash',
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in these pictures, and what is the weather in Lyon?' },
        { type: 'image', data: PNG, mediaType: 'image/png' },
        { type: 'image', url: 'https://example.com/photos/cat.jpg' },
        { type: 'image', url: `data:image/gif;base64,R0lGODlhAQABAAAAACw=` },
      ],
    },
    {
      role: 'assistant',
      content: 'Let me look that up.',
      toolCalls: [
        { id: 'call_0', name: 'get_weather', arguments: '{"city":"Lyon","units":"celsius"}' },
        { id: 'call_1', name: 'get_time', arguments: '' },
      ],
    },
    { role: 'tool', toolCallId: 'call_0', name: 'get_weather', content: '{"temperature":21,"sky":"clear"}' },
    { role: 'tool', toolCallId: 'call_1', content: '14:05' },
    { role: 'user', content: 'Thanks. And tomorrow?' },
  ],
  tools: [
    {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { city: { type: 'string' }, units: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city'],
        additionalProperties: false,
      },
      strict: true,
    },
    { name: 'get_time', parameters: {} },
  ],
  toolChoice: 'required',
  parallelToolCalls: true,
  temperature: 0.2,
  maxTokens: 256,
  topP: 0.9,
  stop: ['END'],
  seed: 42,
  user: 'end-user-7',
  responseFormat: {
    type: 'json_schema',
    name: 'forecast',
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { summary: { type: ['string', 'null'] } },
      required: ['summary'],
      additionalProperties: false,
    },
  },
};
