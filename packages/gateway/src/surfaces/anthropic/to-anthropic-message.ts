import type { ChatResult } from '@keyhold/core';
import { toAnthropicStopReason } from './to-anthropic-stop-reason.js';
import { toAnthropicToolInput } from './to-anthropic-tool-input.js';
import { toAnthropicUsage } from './to-anthropic-usage.js';

/**
 * Renders a neutral chat result as an Anthropic Messages response body
 * (https://docs.claude.com/en/api/messages, "Response"):
 * `{ id, type: 'message', role: 'assistant', model, content, stop_reason, stop_sequence: null, usage }`.
 *
 * Content blocks, in this order: a `thinking` block when the result has reasoning (with an empty
 * `signature`: only Anthropic can sign thinking, and the gateway does not pass the provider's
 * signature through), a `text` block when the content is non-empty, then one `tool_use` block per
 * tool call with its arguments parsed to an object (see `toAnthropicToolInput`). `ctx.id` and
 * `ctx.model` are the gateway's message id and the model name the client asked for; the
 * provider's own id is not exposed.
 *
 * @example
 * reply.send(toAnthropicMessage(result, { id: `msg_${requestId}`, model: requestedModel }));
 */
export function toAnthropicMessage(
  result: ChatResult,
  ctx: { id: string; model: string },
): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (result.reasoning) content.push({ type: 'thinking', thinking: result.reasoning, signature: '' });
  if (result.content) content.push({ type: 'text', text: result.content });
  for (const call of result.toolCalls) {
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: toAnthropicToolInput(call.arguments),
    });
  }
  return {
    id: ctx.id,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: toAnthropicStopReason(result.finishReason),
    stop_sequence: null,
    usage: toAnthropicUsage(result.usage),
  };
}
