import type { ChatResult, FinishReason, ToolCall, Usage } from './types/index.js';
import type { StreamEvent } from './types/stream.js';

/** Folds a stream of events into the `ChatResult` the same call would have returned unstreamed. */
export async function collectStream(events: AsyncIterable<StreamEvent>): Promise<ChatResult> {
  let id = '';
  let model = '';
  let content = '';
  let reasoning = '';
  let sawText = false;
  let finishReason: FinishReason = 'other';
  let usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  const calls = new Map<number, ToolCall>();
  for await (const event of events) {
    switch (event.type) {
      case 'start':
        id = event.id;
        model = event.model;
        break;
      case 'text-delta':
        sawText = true;
        content += event.delta;
        break;
      case 'reasoning-delta':
        reasoning += event.delta;
        break;
      case 'tool-call-delta': {
        const call = calls.get(event.index) ?? { id: '', name: '', arguments: '' };
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        call.arguments += event.argumentsDelta;
        calls.set(event.index, call);
        break;
      }
      case 'usage':
        usage = event.usage;
        break;
      case 'finish':
        finishReason = event.finishReason;
        break;
    }
  }
  return {
    id,
    model,
    content: sawText ? content : null,
    ...(reasoning ? { reasoning } : {}),
    toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
    finishReason,
    usage,
  };
}
