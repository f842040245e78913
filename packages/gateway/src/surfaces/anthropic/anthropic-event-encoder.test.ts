import type { StreamEvent } from '@keyhold/core';
import { describe, expect, it } from 'vitest';
import { createAnthropicEventEncoder } from './anthropic-event-encoder.js';

const ctx = { id: 'msg_gw_7', model: 'gemini/gemini-2.5-flash' };

/** Splits SSE text into `{ event, data }` frames, checking every frame is complete and well formed. */
function frames(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  if (text === '') return [];
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: [a-z_]+$/);
      expect(lines[1]).toMatch(/^data: \{/);
      const event = lines[0]!.slice('event: '.length);
      const data = JSON.parse(lines[1]!.slice('data: '.length)) as Record<string, unknown>;
      // Anthropic's SDK dispatches on the JSON `type`; the SSE event name must agree with it.
      expect(data.type).toBe(event);
      return { event, data };
    });
}

function run(events: StreamEvent[]) {
  const encoder = createAnthropicEventEncoder(ctx);
  let text = '';
  for (const event of events) text += encoder.encode(event);
  text += encoder.end();
  return frames(text);
}

/** A compact trace: event name plus block index and delta type where there is one. */
function trace(list: ReturnType<typeof frames>): string[] {
  return list.map(({ event, data }) => {
    const index = typeof data.index === 'number' ? `:${data.index}` : '';
    const delta = data.delta as { type?: string } | undefined;
    const block = data.content_block as { type?: string } | undefined;
    const kind = event === 'content_block_delta' ? `/${delta?.type}` : block ? `/${block.type}` : '';
    return `${event}${index}${kind}`;
  });
}

describe('createAnthropicEventEncoder', () => {
  it('encodes a text stream exactly', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    const start = encoder.encode({ type: 'start', id: 'upstream', model: 'gemini-2.5-flash' });
    expect(start).toBe(
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_gw_7","type":"message",' +
        '"role":"assistant","model":"gemini/gemini-2.5-flash","content":[],"stop_reason":null,"stop_sequence":null,' +
        '"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}\n\n',
    );
    expect(encoder.encode({ type: 'text-delta', delta: 'Hi' })).toBe(
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
    );
    expect(encoder.encode({ type: 'text-delta', delta: ' "you"\n' })).toBe(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" \\"you\\"\\n"}}\n\n',
    );
    expect(
      encoder.encode({
        type: 'usage',
        usage: { inputTokens: 20, outputTokens: 3, totalTokens: 23, cachedInputTokens: 8 },
      }),
    ).toBe('');
    expect(encoder.encode({ type: 'finish', finishReason: 'length' })).toBe(
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},' +
        '"usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":8}}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
    expect(encoder.end()).toBe('');
    expect(encoder.end()).toBe('');
    expect(encoder.encode({ type: 'text-delta', delta: 'late' })).toBe('');
    expect(encoder.error(500, 'late')).toBe('');
  });

  it('sends message_start with the first event of any kind, so the first byte is not held back', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    expect(trace(frames(encoder.encode({ type: 'text-delta', delta: 'x' })))).toEqual([
      'message_start',
      'content_block_start:0/text',
      'content_block_delta:0/text_delta',
    ]);
  });

  it('uses usage known before message_start in message_start', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    encoder.encode({ type: 'usage', usage: { inputTokens: 9, outputTokens: 0, totalTokens: 9 } });
    const [start] = frames(encoder.encode({ type: 'start', id: 'u', model: 'm' }));
    expect((start?.data.message as { usage: unknown } | undefined)?.usage).toEqual({
      input_tokens: 9,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('opens a new block for each kind change and each new tool index, with increasing indexes', () => {
    const list = run([
      { type: 'start', id: 'u', model: 'm' },
      { type: 'reasoning-delta', delta: 'think' },
      { type: 'text-delta', delta: 'a' },
      { type: 'tool-call-delta', index: 0, id: 'c0', name: 'f', argumentsDelta: '{"q":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '1}' },
      { type: 'text-delta', delta: 'b' },
      { type: 'tool-call-delta', index: 1, id: 'c1', name: 'g', argumentsDelta: '' },
      { type: 'tool-call-delta', index: 2, id: 'c2', name: 'h', argumentsDelta: '{}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    expect(trace(list)).toEqual([
      'message_start',
      'content_block_start:0/thinking',
      'content_block_delta:0/thinking_delta',
      'content_block_stop:0',
      'content_block_start:1/text',
      'content_block_delta:1/text_delta',
      'content_block_stop:1',
      'content_block_start:2/tool_use',
      'content_block_delta:2/input_json_delta',
      'content_block_delta:2/input_json_delta',
      'content_block_stop:2',
      'content_block_start:3/text',
      'content_block_delta:3/text_delta',
      'content_block_stop:3',
      'content_block_start:4/tool_use',
      'content_block_stop:4',
      'content_block_start:5/tool_use',
      'content_block_delta:5/input_json_delta',
      'content_block_stop:5',
      'message_delta',
      'message_stop',
    ]);
    expect(list[1]?.data.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect(list[7]?.data.content_block).toEqual({ type: 'tool_use', id: 'c0', name: 'f', input: {} });
    expect(list[8]?.data.delta).toEqual({ type: 'input_json_delta', partial_json: '{"q":' });
    expect(list[19]?.data.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });

  it('skips empty text and reasoning deltas instead of opening empty blocks', () => {
    expect(
      trace(
        run([
          { type: 'text-delta', delta: '' },
          { type: 'reasoning-delta', delta: '' },
          { type: 'finish', finishReason: 'stop' },
        ]),
      ),
    ).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it("sends a late delta for an earlier tool call on that call's block index", () => {
    const list = run([
      { type: 'tool-call-delta', index: 0, id: 'c0', name: 'f', argumentsDelta: '{"a":' },
      { type: 'tool-call-delta', index: 1, id: 'c1', name: 'g', argumentsDelta: '{}' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '1}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    const late = list.find(
      (f) => (f.data.delta as { partial_json?: string } | undefined)?.partial_json === '1}',
    );
    expect(late?.data.index).toBe(0);
  });

  it("makes up a stable id when a provider omits the first tool delta's id", () => {
    const list = run([{ type: 'tool-call-delta', index: 3, argumentsDelta: '{}' }]);
    expect(list[1]?.data.content_block).toEqual({
      type: 'tool_use',
      id: 'toolu_msg_gw_7_3',
      name: '',
      input: {},
    });
  });

  it('end() closes an unfinished stream with message_start, block stop, message_delta and message_stop', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    encoder.encode({ type: 'text-delta', delta: 'cut' });
    expect(trace(frames(encoder.end()))).toEqual(['content_block_stop:0', 'message_delta', 'message_stop']);
    expect(encoder.end()).toBe('');

    const empty = createAnthropicEventEncoder(ctx);
    const list = frames(empty.end());
    expect(trace(list)).toEqual(['message_start', 'message_delta', 'message_stop']);
    expect(list[1]?.data.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
  });

  it('error() emits an error event once and silences everything after it', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    encoder.encode({ type: 'text-delta', delta: 'par' });
    expect(encoder.error(503, 'The provider is unavailable.')).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"The provider is unavailable."}}\n\n',
    );
    expect(encoder.error(500, 'again')).toBe('');
    expect(encoder.encode({ type: 'finish', finishReason: 'stop' })).toBe('');
    expect(encoder.end()).toBe('');
  });

  it('error() before anything else sends only the error event', () => {
    const encoder = createAnthropicEventEncoder(ctx);
    expect(trace(frames(encoder.error(429, 'Slow down.')))).toEqual(['error']);
  });
});
