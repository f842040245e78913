import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../errors.js';
import type { ChatRequest, Message } from '../../types/index.js';
import { parseToolInput, toAnthropicRequest, toImageSource } from './to-anthropic-request.js';

const base = (messages: Message[], extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'claude-haiku-4-5',
  messages,
  ...extra,
});

describe('toAnthropicRequest: turns', () => {
  it('merges consecutive same-role turns so user and assistant alternate', () => {
    const wire = toAnthropicRequest(
      'anthropic',
      base([
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
      ]),
    );
    expect(wire.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'three' },
          { type: 'text', text: 'four' },
        ],
      },
    ]);
  });

  it('puts tool results before other user content in a merged turn, as Anthropic requires', () => {
    const wire = toAnthropicRequest(
      'anthropic',
      base([
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, toolCalls: [{ id: 't1', name: 'f', arguments: '{}' }] },
        { role: 'user', content: 'hurry' },
        { role: 'tool', toolCallId: 't1', content: 'done' },
      ]),
    );
    expect(wire.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: 'done' },
        { type: 'text', text: 'hurry' },
      ],
    });
  });

  it('drops empty turns and empty text, and hoists a system message from mid-conversation', () => {
    const wire = toAnthropicRequest(
      'anthropic',
      base([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        { role: 'system', content: 'late rule' },
        {
          role: 'user',
          content: [
            { type: 'text', text: '' },
            { type: 'text', text: 'b' },
          ],
        },
      ]),
    );
    expect(wire.system).toBe('late rule');
    expect(wire.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ]);
  });
});

describe('toAnthropicRequest: tools', () => {
  const tools = [{ name: 'f', parameters: { type: 'object', properties: {} } }];
  const choice = (extra: Partial<ChatRequest>) =>
    toAnthropicRequest('anthropic', base([{ role: 'user', content: 'x' }], { tools, ...extra })).tool_choice;

  it('maps every tool choice, with disable_parallel_tool_use for parallelToolCalls: false', () => {
    expect(choice({})).toBeUndefined();
    expect(choice({ toolChoice: 'auto' })).toEqual({ type: 'auto' });
    expect(choice({ toolChoice: 'required' })).toEqual({ type: 'any' });
    expect(choice({ toolChoice: { name: 'f' } })).toEqual({ type: 'tool', name: 'f' });
    expect(choice({ toolChoice: 'none' })).toEqual({ type: 'none' });
    expect(choice({ parallelToolCalls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice({ toolChoice: { name: 'f' }, parallelToolCalls: false })).toEqual({
      type: 'tool',
      name: 'f',
      disable_parallel_tool_use: true,
    });
    expect(choice({ toolChoice: 'none', parallelToolCalls: false })).toEqual({ type: 'none' });
    expect(choice({ toolChoice: 'auto', parallelToolCalls: true })).toEqual({ type: 'auto' });
  });

  it('sends no tool_choice without tools', () => {
    const wire = toAnthropicRequest(
      'anthropic',
      base([{ role: 'user', content: 'x' }], { toolChoice: 'required' }),
    );
    expect(wire.tools).toBeUndefined();
    expect(wire.tool_choice).toBeUndefined();
  });
});

describe('parseToolInput', () => {
  const call = (args: string) => ({ id: 't', name: 'f', arguments: args });

  it('parses a JSON object; empty text and null mean no arguments', () => {
    expect(parseToolInput('anthropic', call('{"a":[1,{"b":null}]}'))).toEqual({ a: [1, { b: null }] });
    expect(parseToolInput('anthropic', call(''))).toEqual({});
    expect(parseToolInput('anthropic', call('  null '))).toEqual({});
  });

  it('refuses broken JSON and non-objects instead of sending made-up input', () => {
    for (const bad of ['{"a":', '[1,2]', '"text"', '42', 'true']) {
      const attempt = () => parseToolInput('anthropic', call(bad));
      expect(attempt, bad).toThrow(InvalidRequestError);
    }
    expect(() => parseToolInput('anthropic', call('{"secret":'))).toThrow(/not a JSON object/);
    try {
      parseToolInput('anthropic', call('{"secret":'));
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });
});

describe('toImageSource', () => {
  it('splits data: URLs into media type and base64 data', () => {
    expect(toImageSource('anthropic', { type: 'image', url: 'data:image/JPEG;base64,/9j/4AAQ' })).toEqual({
      type: 'base64',
      media_type: 'image/jpeg',
      data: '/9j/4AAQ',
    });
    expect(
      toImageSource('anthropic', { type: 'image', url: 'data:image/gif;charset=x;base64,R0lG' }),
    ).toEqual({
      type: 'base64',
      media_type: 'image/gif',
      data: 'R0lG',
    });
  });

  it('passes http(s) URLs by reference', () => {
    expect(toImageSource('anthropic', { type: 'image', url: 'HTTPS://cdn.example.com/x.png' })).toEqual({
      type: 'url',
      url: 'HTTPS://cdn.example.com/x.png',
    });
  });

  it('refuses images Anthropic cannot take', () => {
    for (const part of [
      { type: 'image' as const, url: 'data:image/svg+xml,%3Csvg%3E' },
      { type: 'image' as const, url: 'data:;base64,AAAA' },
      { type: 'image' as const, url: 'file:///etc/passwd' },
      { type: 'image' as const, url: 'gs://bucket/x.png' },
      { type: 'image' as const, data: 'AAAA' },
      { type: 'image' as const },
    ]) {
      expect(() => toImageSource('anthropic', part), JSON.stringify(part)).toThrow(InvalidRequestError);
    }
  });
});
