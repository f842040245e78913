import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../errors.js';
import { PNG, RICH_REQUEST, RICH_WIRE } from './testing/rich-request.js';
import { toBedrockRequest } from './to-bedrock-request.js';

describe('toBedrockRequest', () => {
  it('maps every neutral field to its Converse place (seed, user, name, parallelToolCalls dropped)', () => {
    expect(toBedrockRequest('bedrock', RICH_REQUEST)).toEqual(RICH_WIRE);
  });

  it('a minimal request is just the messages', () => {
    expect(toBedrockRequest('bedrock', { model: 'm', messages: [{ role: 'user', content: 'Hi' }] })).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
    });
  });

  it.each([
    ['auto', { auto: {} }],
    ['required', { any: {} }],
    [{ name: 'get_time' }, { tool: { name: 'get_time' } }],
    [undefined, undefined],
  ] as const)('tool choice %j → %j', (choice, wire) => {
    const body = toBedrockRequest('bedrock', { ...RICH_REQUEST, toolChoice: choice as never });
    expect(body.toolConfig?.toolChoice).toEqual(wire);
    expect(body.toolConfig?.tools).toHaveLength(2);
  });

  it("tool choice 'none' omits the tool configuration", () => {
    expect(toBedrockRequest('bedrock', { ...RICH_REQUEST, toolChoice: 'none' }).toolConfig).toBeUndefined();
  });

  it('JSON mode becomes a system instruction', () => {
    const body = toBedrockRequest('bedrock', {
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
      responseFormat: { type: 'json' },
    });
    expect(body.system).toEqual([{ text: 'Respond only with a valid JSON object, and nothing else.' }]);
  });

  it('merges consecutive same-role messages and skips an empty assistant turn', () => {
    const body = toBedrockRequest('bedrock', {
      model: 'm',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: '' },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'one' }, { text: 'two' }] },
      { role: 'assistant', content: [{ text: 'three' }, { text: 'four' }] },
    ]);
  });

  it('converts a percent-encoded data: URL to bytes', () => {
    const body = toBedrockRequest('bedrock', {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image', url: 'data:image/gif,GIF89a%01' }] }],
    });
    expect(body.messages[0]!.content[0]).toEqual({
      image: { format: 'gif', source: { bytes: Buffer.from('GIF89a\u0001').toString('base64') } },
    });
  });

  it('rejects http(s) image URLs, naming the problem', () => {
    const call = () =>
      toBedrockRequest('bedrock', {
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }],
      });
    expect(call).toThrow(InvalidRequestError);
    expect(call).toThrow(
      'bedrock accepts images only as bytes: pass a data: URL or base64 data, not an http(s) image URL',
    );
  });

  it('rejects image types Bedrock does not take, and tool arguments that are not JSON', () => {
    expect(() =>
      toBedrockRequest('bedrock', {
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'image', data: PNG, mediaType: 'image/tiff' }] }],
      }),
    ).toThrow(InvalidRequestError);
    expect(() =>
      toBedrockRequest('bedrock', {
        model: 'm',
        messages: [
          { role: 'assistant', content: null, toolCalls: [{ id: 't', name: 'f', arguments: '{oops' }] },
        ],
      }),
    ).toThrow('The arguments of a "f" tool call are not valid JSON');
  });
});
