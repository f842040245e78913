import { describe, expect, it } from 'vitest';
import type { OpenAIChatWire } from './openai-wire.js';
import { TextChunkLayout } from './text-chunk-layout.js';

const HEAD =
  '{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":';
const TAIL = '},"logprobs":null,"finish_reason":null}],"usage":null';

/** A text chunk as OpenAI sends it: the content and a random padding member. */
const chunk = (content: string, padding = 'Qup1BsQ3') =>
  `${HEAD}${JSON.stringify(content)}${TAIL},"obfuscation":"${padding}"}`;

function learned(): TextChunkLayout {
  const layout = new TextChunkLayout();
  const first = chunk('Hello');
  layout.learn(first, JSON.parse(first) as OpenAIChatWire);
  return layout;
}

describe('TextChunkLayout', () => {
  it('reads the content of chunks with the learned layout, whatever their padding', () => {
    const layout = learned();
    expect(layout.read(chunk(' world', 'x'))).toBe(' world');
    expect(layout.read(chunk(' again', ''))).toBe(' again');
    expect(layout.read(chunk('no padding').replace(',"obfuscation":"Qup1BsQ3"}', '}'))).toBe('no padding');
  });

  it('reads exactly what JSON.parse reads, escapes and non-ASCII included', () => {
    const layout = learned();
    const samples = [
      'plain',
      'quote " inside',
      'back\\slash',
      'line\nbreak\ttab',
      'unicode café 🦊 \u2028 \u0000',
      '"},"x":{"content":"',
      '',
      ' ',
    ];
    for (const content of samples) {
      const text = chunk(content);
      const parsed = (JSON.parse(text) as OpenAIChatWire).choices![0]!.delta!.content;
      expect(layout.read(text)).toBe(parsed);
    }
    // A hand-written \u escape, as some servers send.
    expect(layout.read(`${HEAD}"\\u00e9t\\u00e9"${TAIL}}`)).toBe('été');
  });

  it('declines every chunk of another layout, so that it is parsed in full', () => {
    const layout = learned();
    const declined = [
      // The finish chunk, a tool call, usage, a refusal, an extra field, other spacing, a cut.
      chunk('x').replace('"finish_reason":null', '"finish_reason":"stop"'),
      `${HEAD.replace('{"content":', '{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}],"content":')}"x"${TAIL}}`,
      chunk('x').replace('"usage":null', '"usage":{"prompt_tokens":1}'),
      `${HEAD}"a","refusal":"b"${TAIL}}`,
      `${HEAD}"a"${TAIL},"extra":1}`,
      chunk('x').replace('"index":0', '"index": 0'),
      chunk('x').slice(0, -5),
      `${HEAD}"a\\q"${TAIL}}`,
      `${HEAD}"raw\ncontrol"${TAIL}}`,
      `${HEAD}"unterminated${TAIL}}`,
      chunk('x', 'has"quote'),
      chunk('x').replace('chatcmpl-D8Z5', 'chatcmpl-OTHER'),
    ];
    for (const text of declined) expect(layout.read(text)).toBeUndefined();
  });

  it('learns only from a plain text chunk', () => {
    const layout = new TextChunkLayout();
    const role = `${HEAD.replace('{"content":', '{"role":"assistant","content":')}""${TAIL}}`;
    layout.learn(role, JSON.parse(role) as OpenAIChatWire);
    expect(layout.read(chunk('x'))).toBeUndefined();
    const finish = chunk('x').replace('"finish_reason":null', '"finish_reason":"stop"');
    layout.learn(finish, JSON.parse(finish) as OpenAIChatWire);
    expect(layout.read(chunk('y'))).toBeUndefined();
    const plain = chunk('z');
    layout.learn(plain, JSON.parse(plain) as OpenAIChatWire);
    expect(layout.read(chunk('y'))).toBe('y');
  });

  it('reads random contents exactly as JSON.parse does', () => {
    const layout = learned();
    const alphabet = ['a', ' ', '"', '\\', '\n', 'é', '🦊', '}', ',', ':', '\u0001', '/', 'u'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 500; n++) {
      let content = '';
      const length = next() % 12;
      for (let i = 0; i < length; i++) content += alphabet[next() % alphabet.length];
      const text = chunk(content, String(next() % 1000));
      expect(layout.read(text)).toBe((JSON.parse(text) as OpenAIChatWire).choices![0]!.delta!.content);
    }
  });
});
