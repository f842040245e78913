import { ProviderUnavailableError } from '../../errors.js';
import type { SseEvent } from '../../transport/sse.js';
import type { FinishReason, StreamEvent } from '../../types/index.js';
import { safeJson } from '../http-call.js';
import { anthropicStreamError } from './anthropic-errors.js';
import {
  type AnthropicUsage,
  fromAnthropicUsage,
  mapAnthropicStopReason,
} from './from-anthropic-response.js';

export interface AnthropicStreamContext {
  provider: string;
  /** The requested model, used only if the stream names none. */
  model: string;
}

interface StreamData {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; input?: unknown };
  delta?: {
    type?: string;
    text?: string;
    thinking?: string;
    partial_json?: string;
    stop_reason?: string | null;
  };
  usage?: AnthropicUsage;
}

/**
 * Maps Anthropic's SSE events to neutral stream events.
 * https://docs.claude.com/en/docs/build-with-claude/streaming
 *
 * Order: `message_start` (id, model, input-side usage) → per content block
 * `content_block_start` / `content_block_delta`* / `content_block_stop` → `message_delta`
 * (stop reason, cumulative usage) → `message_stop`; `ping` anywhere. Usage is emitted once, at
 * `message_stop`, from `message_start`'s usage overlaid with `message_delta`'s.
 *
 * Tool input arrives as `input_json_delta` string pieces (the first is often `""`). Anthropic
 * numbers blocks across text, thinking and tools; neutral tool-call indexes count `tool_use`
 * blocks only. A tool whose pieces are all empty (a no-argument call) is closed with `{}`, the
 * same arguments text the non-streamed response gives. `signature_delta` and `citations_delta`
 * carry nothing neutral.
 *
 * `event: error` (e.g. `overloaded_error` after the 200) becomes a typed error; a body that ends
 * before `message_stop` throws `ProviderUnavailableError`.
 */
export async function* fromAnthropicStream(
  events: AsyncIterable<SseEvent>,
  context: AnthropicStreamContext,
): AsyncGenerator<StreamEvent> {
  const { provider } = context;
  let started = false;
  let finished = false;
  let usage: AnthropicUsage = {};
  let stopReason: FinishReason = 'other';
  // Block index → tool-call index and whether any argument text was sent for it.
  const tools = new Map<number, { index: number; hasArguments: boolean }>();

  for await (const event of events) {
    // After `message_stop` the body is read to its end (nothing more is expected) so that the
    // connection can be reused.
    if (finished) continue;
    const data = parseData(provider, event.data);
    const type = data.type ?? event.event;
    if (type === 'error') throw anthropicStreamError(provider, data);
    if (type === 'ping') continue;
    if (!started) {
      started = true;
      yield {
        type: 'start',
        id: data.message?.id ?? '',
        model: data.message?.model ?? context.model,
      };
    }
    switch (type) {
      case 'message_start':
        usage = { ...data.message?.usage };
        break;
      case 'content_block_start': {
        const block = data.content_block;
        if (block?.type !== 'tool_use') break;
        const tool = { index: tools.size, hasArguments: false };
        tools.set(data.index ?? 0, tool);
        // The start block's `input` is `{}` while the input streams as deltas; were it ever given
        // whole here, it is the arguments.
        const whole = isNonEmptyObject(block.input) ? JSON.stringify(block.input) : '';
        tool.hasArguments = whole !== '';
        yield {
          type: 'tool-call-delta',
          index: tool.index,
          id: block.id ?? '',
          name: block.name ?? '',
          argumentsDelta: whole,
        };
        break;
      }
      case 'content_block_delta': {
        const delta = data.delta;
        if (delta?.type === 'text_delta' && delta.text) yield { type: 'text-delta', delta: delta.text };
        else if (delta?.type === 'thinking_delta' && delta.thinking) {
          yield { type: 'reasoning-delta', delta: delta.thinking };
        } else if (delta?.type === 'input_json_delta' && delta.partial_json) {
          const tool = tools.get(data.index ?? 0);
          if (tool) {
            tool.hasArguments = true;
            yield { type: 'tool-call-delta', index: tool.index, argumentsDelta: delta.partial_json };
          }
        }
        break;
      }
      case 'content_block_stop': {
        const tool = tools.get(data.index ?? 0);
        if (tool && !tool.hasArguments) {
          tool.hasArguments = true;
          yield { type: 'tool-call-delta', index: tool.index, argumentsDelta: '{}' };
        }
        break;
      }
      case 'message_delta':
        if (data.delta?.stop_reason) stopReason = mapAnthropicStopReason(data.delta.stop_reason);
        usage = { ...usage, ...definedFields(data.usage) };
        break;
      case 'message_stop':
        yield { type: 'usage', usage: fromAnthropicUsage(usage) };
        yield { type: 'finish', finishReason: stopReason };
        finished = true;
        break;
      default:
        // Future event types are skipped, as Anthropic's versioning policy asks.
        break;
    }
  }
  if (finished) return;
  throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
}

function parseData(provider: string, text: string): StreamData {
  const parsed = safeJson(text);
  if (parsed === null || typeof parsed !== 'object') {
    throw new ProviderUnavailableError(`${provider} sent a stream event that is not JSON`, { provider });
  }
  return parsed as StreamData;
}

/** `message_delta.usage` sends `null` for counts it does not restate; those keep the start's. */
function definedFields(usage: AnthropicUsage | undefined): AnthropicUsage {
  return Object.fromEntries(Object.entries(usage ?? {}).filter(([, v]) => v !== null && v !== undefined));
}

function isNonEmptyObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && Object.keys(value).length > 0;
}
