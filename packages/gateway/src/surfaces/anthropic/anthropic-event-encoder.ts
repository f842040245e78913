import type { FinishReason, StreamEvent, Usage } from '@keyhold/core';
import { anthropicErrorType } from './anthropic-errors.js';
import { toAnthropicStopReason } from './to-anthropic-stop-reason.js';
import { toAnthropicUsage } from './to-anthropic-usage.js';

/** Turns neutral stream events into Anthropic Messages SSE frames, one call at a time. */
export interface AnthropicEventEncoder {
  /** The frames for one neutral event: `''` or complete `event: X\ndata: {...}\n\n` frames. */
  encode(event: StreamEvent): string;
  /**
   * Closes the stream when it ended without a `finish` event: closes the open block and sends
   * `message_delta` (stop_reason `end_turn`) and `message_stop`. `''` once the stream is closed.
   */
  end(): string;
  /**
   * An in-stream `error` event (`{"type":"error","error":{"type","message"}}`), for a failure
   * after the 200 status went out. Nothing is sent after it. `message` must be Keyhold's words.
   */
  error(status: number, message: string): string;
}

type BlockKind = 'text' | 'thinking' | 'tool_use';

/**
 * Creates an encoder for one streamed response. Anthropic's event order
 * (https://docs.claude.com/en/docs/build-with-claude/streaming): `message_start` (message with
 * empty content), then per content block `content_block_start`, `content_block_delta`*,
 * `content_block_stop` with indexes 0, 1, 2, …, then `message_delta` (stop_reason and usage)
 * and `message_stop`.
 *
 * - `message_start` goes out with the first event of any kind, so the first byte is never held
 *   back; its usage is what is known then (zeros unless a `usage` event came first). The final
 *   counts go in `message_delta`, which the SDK takes over as whole-message totals.
 * - Text, reasoning (`thinking` block, empty signature) and each tool call are separate blocks: a
 *   kind change closes the open block and opens the next index; a `tool-call-delta` with a new
 *   neutral index opens a `tool_use` block (`id`, `name`, `input: {}`) whose arguments follow as
 *   `input_json_delta` pieces, passed on as they arrive (not re-validated).
 * - A late delta for an earlier, closed tool call is sent on that call's block index (the SDK
 *   accumulates by index); Anthropic itself never interleaves, but neutral streams may.
 * - `usage` is kept for `message_delta`; `finish` closes everything and ends the stream. After
 *   the end (or an error) every call returns `''`.
 *
 * @example
 * const encoder = createAnthropicEventEncoder({ id: 'msg_123', model: 'anthropic/claude-sonnet-4-5' });
 * try {
 *   for await (const event of events) res.write(encoder.encode(event));
 *   res.end(encoder.end());
 * } catch (err) {
 *   res.end(encoder.error(502, 'The provider stream failed.'));
 * }
 */
export function createAnthropicEventEncoder(ctx: { id: string; model: string }): AnthropicEventEncoder {
  let started = false;
  let closed = false;
  let nextIndex = 0;
  let open: { kind: BlockKind; index: number } | undefined;
  let usage: Usage | undefined;
  /** Neutral tool-call index → Anthropic block index. */
  const toolBlocks = new Map<number, number>();

  const start = (): string => {
    if (started) return '';
    started = true;
    return frame('message_start', {
      type: 'message_start',
      message: {
        id: ctx.id,
        type: 'message',
        role: 'assistant',
        model: ctx.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: toAnthropicUsage(usage),
      },
    });
  };

  const closeBlock = (): string => {
    if (!open) return '';
    const index = open.index;
    open = undefined;
    return frame('content_block_stop', { type: 'content_block_stop', index });
  };

  const openBlock = (kind: BlockKind, contentBlock: Record<string, unknown>): string => {
    const out = closeBlock();
    const index = nextIndex++;
    open = { kind, index };
    return (
      out + frame('content_block_start', { type: 'content_block_start', index, content_block: contentBlock })
    );
  };

  const delta = (index: number, body: Record<string, unknown>): string =>
    frame('content_block_delta', { type: 'content_block_delta', index, delta: body });

  const finish = (reason: FinishReason): string => {
    const out = start() + closeBlock();
    closed = true;
    return (
      out +
      frame('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: toAnthropicStopReason(reason), stop_sequence: null },
        usage: toAnthropicUsage(usage),
      }) +
      frame('message_stop', { type: 'message_stop' })
    );
  };

  const encodeToolDelta = (event: Extract<StreamEvent, { type: 'tool-call-delta' }>): string => {
    let out = '';
    let index = toolBlocks.get(event.index);
    if (index === undefined) {
      out += openBlock('tool_use', {
        type: 'tool_use',
        // The neutral stream promises id and name on a call's first delta; if a provider broke
        // that promise, a stable made-up id still lets the client pair the result.
        id: event.id ?? `toolu_${ctx.id}_${event.index}`,
        name: event.name ?? '',
        input: {},
      });
      index = open!.index;
      toolBlocks.set(event.index, index);
    }
    if (event.argumentsDelta !== '') {
      out += delta(index, { type: 'input_json_delta', partial_json: event.argumentsDelta });
    }
    return out;
  };

  return {
    encode(event) {
      if (closed) return '';
      if (event.type === 'usage') {
        usage = event.usage;
        return '';
      }
      let out = start();
      switch (event.type) {
        case 'start':
          break;
        case 'text-delta':
          if (event.delta === '') break;
          if (open?.kind !== 'text') out += openBlock('text', { type: 'text', text: '' });
          out += delta(open!.index, { type: 'text_delta', text: event.delta });
          break;
        case 'reasoning-delta':
          if (event.delta === '') break;
          if (open?.kind !== 'thinking') {
            out += openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
          }
          out += delta(open!.index, { type: 'thinking_delta', thinking: event.delta });
          break;
        case 'tool-call-delta':
          out += encodeToolDelta(event);
          break;
        case 'finish':
          out += finish(event.finishReason);
          break;
      }
      return out;
    },
    end() {
      if (closed) return '';
      return finish('stop');
    },
    error(status, message) {
      if (closed) return '';
      closed = true;
      return frame('error', { type: 'error', error: { type: anthropicErrorType(status), message } });
    },
  };
}

function frame(event: string, data: Record<string, unknown>): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
