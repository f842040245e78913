import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../errors.js';
import type { ChatRequest } from '../../types/index.js';
import { PNG, richRequest } from './testing/gemini-fixtures.js';
import { SKIP_THOUGHT_SIGNATURE, toFunctionResponse, toGeminiRequest } from './to-gemini-request.js';
import { toGeminiSchema } from './to-gemini-schema.js';

describe('toGeminiRequest', () => {
  it('maps a rich neutral request field by field', () => {
    expect(toGeminiRequest(richRequest)).toEqual({
      systemInstruction: { parts: [{ text: 'You are terse.' }] },
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'What is in these pictures, and what is the weather in Lyon?' },
            { inlineData: { mimeType: 'image/png', data: PNG } },
            { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photos/cat.jpg' } },
            { inlineData: { mimeType: 'image/gif', data: 'R0lGODlhAQABAAAAACw=' } },
          ],
        },
        {
          role: 'model',
          parts: [
            { text: 'Let me look that up.' },
            { functionCall: { name: 'get_weather', args: { city: 'Lyon', units: 'celsius' } } },
            { functionCall: { name: 'get_time', args: {} } },
          ],
        },
        {
          // Both tool results and the next user message share one user turn.
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { temperature: 21, sky: 'clear' } } },
            { functionResponse: { name: 'get_time', response: { content: '14:05' } } },
            { text: 'Thanks. And tomorrow?' },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Current weather for a city',
              parametersJsonSchema: {
                type: 'object',
                properties: {
                  city: { type: 'string' },
                  units: { type: 'string', enum: ['celsius', 'fahrenheit'] },
                },
                required: ['city'],
                additionalProperties: false,
              },
            },
            { name: 'get_time' },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
      generationConfig: {
        temperature: 0.2,
        topP: 0.9,
        maxOutputTokens: 256,
        stopSequences: ['END'],
        seed: 42,
        responseMimeType: 'application/json',
        responseJsonSchema: {
          type: 'object',
          properties: { summary: { type: ['string', 'null'] } },
          required: ['summary'],
          additionalProperties: false,
        },
      },
    });
  });

  it('sends only contents for a bare request, and never the end-user id', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'hi' }],
      user: 'u',
    });
    expect(body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
  });

  it('maps every tool choice', () => {
    const base: ChatRequest = {
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 'a', parameters: { type: 'object', properties: {} } }],
    };
    const config = (toolChoice: ChatRequest['toolChoice']) =>
      toGeminiRequest({ ...base, toolChoice }).toolConfig?.functionCallingConfig;
    expect(config('auto')).toEqual({ mode: 'AUTO' });
    expect(config('none')).toEqual({ mode: 'NONE' });
    expect(config('required')).toEqual({ mode: 'ANY' });
    expect(config({ name: 'a' })).toEqual({ mode: 'ANY', allowedFunctionNames: ['a'] });
    expect(config(undefined)).toBeUndefined();
    // Without tools there is nothing to choose from.
    expect(toGeminiRequest({ ...base, tools: [], toolChoice: 'none' }).toolConfig).toBeUndefined();
  });

  it('asks for plain JSON without a schema', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: { type: 'json' },
    });
    expect(body.generationConfig).toEqual({ responseMimeType: 'application/json' });
    const text = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: { type: 'text' },
    });
    expect(text.generationConfig).toBeUndefined();
  });

  it('joins several system messages into one instruction and skips empty assistant turns', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'system', content: 'A' },
        { role: 'user', content: 'one' },
        { role: 'assistant', content: '' },
        { role: 'system', content: 'B' },
        { role: 'user', content: 'two' },
      ],
    });
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'A' }, { text: 'B' }] });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'one' }, { text: 'two' }] }]);
  });

  it('takes a tool result’s name from the earlier call with its id', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'abc', name: 'lookup', arguments: '{"q":1}' }],
        },
        { role: 'tool', toolCallId: 'abc', content: '[1,2]' },
      ],
    });
    expect(body.contents[2]).toEqual({
      role: 'user',
      parts: [{ functionResponse: { name: 'lookup', response: { content: [1, 2] } } }],
    });
  });

  it('refuses a tool result whose tool name cannot be found', () => {
    expect(() =>
      toGeminiRequest({
        model: 'gemini-2.5-flash',
        messages: [{ role: 'tool', toolCallId: 'nowhere', content: 'x' }],
      }),
    ).toThrow(InvalidRequestError);
  });

  it('refuses tool-call arguments that are not a JSON object', () => {
    for (const args of ['{not json', '[1,2]', '"text"']) {
      expect(() =>
        toGeminiRequest({
          model: 'gemini-2.5-flash',
          messages: [
            { role: 'assistant', content: null, toolCalls: [{ id: 'a', name: 't', arguments: args }] },
          ],
        }),
      ).toThrow(InvalidRequestError);
    }
  });

  it('signs replayed function calls with Google’s placeholder for Gemini 3 models only', () => {
    const messages: ChatRequest['messages'] = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'a', name: 't', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'a', content: '{"ok":true}' },
    ];
    for (const model of ['gemini-3-pro-preview', 'models/gemini-3.1-flash', 'gemini-3']) {
      expect(toGeminiRequest({ model, messages }).contents[1]!.parts![0]).toEqual({
        functionCall: { name: 't', args: {} },
        thoughtSignature: SKIP_THOUGHT_SIGNATURE,
      });
    }
    for (const model of ['gemini-2.5-flash', 'gemini-2.0-flash-001', 'gemini-exp-1206']) {
      expect(toGeminiRequest({ model, messages }).contents[1]!.parts![0]).toEqual({
        functionCall: { name: 't', args: {} },
      });
    }
  });

  describe('images', () => {
    const image = (part: object) =>
      toGeminiRequest({
        model: 'gemini-2.5-flash',
        messages: [{ role: 'user', content: [{ type: 'image', ...part }] }],
      }).contents[0]!.parts![0];

    it('sniffs the type of base64 data given without one', () => {
      expect(image({ data: '/9j/4AAQSkZJRg==' })).toEqual({
        inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' },
      });
      expect(() => image({ data: 'AAAA' })).toThrow(InvalidRequestError);
    });

    it('leaves fileData without a type when the URL does not tell one', () => {
      expect(image({ url: 'https://example.com/image?id=7' })).toEqual({
        fileData: { fileUri: 'https://example.com/image?id=7' },
      });
      expect(image({ url: 'https://example.com/a.webp', mediaType: 'image/png' })).toEqual({
        fileData: { mimeType: 'image/png', fileUri: 'https://example.com/a.webp' },
      });
    });

    it('refuses URLs it cannot send', () => {
      expect(() => image({ url: 'file:///etc/passwd' })).toThrow(InvalidRequestError);
      expect(() => image({ url: 'data:image/png,rawbytes' })).toThrow(InvalidRequestError);
    });
  });
});

describe('toFunctionResponse', () => {
  it('passes JSON objects and wraps everything else as { content }', () => {
    expect(toFunctionResponse('{"a":1}')).toEqual({ a: 1 });
    expect(toFunctionResponse('[1]')).toEqual({ content: [1] });
    expect(toFunctionResponse('42')).toEqual({ content: 42 });
    expect(toFunctionResponse('null')).toEqual({ content: null });
    expect(toFunctionResponse('plain text')).toEqual({ content: 'plain text' });
  });
});

describe('toGeminiSchema', () => {
  it('drops root document keywords and keeps JSON Schema the JSON-Schema fields accept', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'urn:x',
      $comment: 'generated',
      type: 'object',
      properties: { $id: { type: 'string' }, tags: { type: 'array', items: { $ref: '#/$defs/tag' } } },
      $defs: { tag: { type: 'string' } },
      additionalProperties: false,
    };
    expect(toGeminiSchema(schema)).toEqual({
      type: 'object',
      properties: { $id: { type: 'string' }, tags: { type: 'array', items: { $ref: '#/$defs/tag' } } },
      $defs: { tag: { type: 'string' } },
      additionalProperties: false,
    });
    // The caller's schema is not modified.
    expect(schema.$schema).toBeDefined();
  });
});
