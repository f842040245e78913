import type { StreamEvent, Usage } from '@keyhold/core';
import { type OpenAIResponseContext, toFinishReason, toOpenAIUsage } from './to-chat-completion.js';
import { toOpenAIErrorBody } from './to-openai-error.js';

/** Turns neutral stream events into OpenAI `chat.completion.chunk` SSE frames. */
export interface ChatChunkEncoder {
  /** `''` or complete `data: …\n\n` frames. */
  encode(event: StreamEvent): string;
  /** The usage chunk (when asked for) and `data: [DONE]`. */
  end(): string;
  /** An error after the stream started: OpenAI sends an `error` object as a data frame. */
  error(status: number, code: string, message: string): string;
}

/**
 * Encodes a stream the way OpenAI does
 * (https://platform.openai.com/docs/api-reference/chat/streaming): a first chunk with
 * `delta: { role, content: '', refusal: null }`, content and tool-call deltas (a tool call's
 * first delta carries `index`, `id`, `type` and `function.name`, later ones only `index` and
 * argument text), a chunk with an empty delta and the finish reason, then — with
 * `stream_options.include_usage` — a chunk with `choices: []` and the usage (every earlier
 * chunk has `usage: null`), and finally `data: [DONE]`. Core reports usage before `finish`; it is
 * held back and sent after the finish chunk, where OpenAI puts it.
 */
export function createChatChunkEncoder(ctx: OpenAIResponseContext, includeUsage: boolean): ChatChunkEncoder {
  const head = `{"id":${JSON.stringify(ctx.id)},"object":"chat.completion.chunk","created":${ctx.created},"model":${JSON.stringify(ctx.model)},"choices":[`;
  const tail = includeUsage ? '],"usage":null}' : ']}';
  let started = false;
  let usage: Usage | undefined;
  const seenToolCalls = new Set<number>();

  const frame = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    `data: ${head}${JSON.stringify({ index: 0, delta, logprobs: null, finish_reason: finishReason })}${tail}\n\n`;

  // Text deltas are nearly every frame of a stream: their JSON is assembled around the one string.
  const textOpen = `data: ${head}{"index":0,"delta":{"content":`;
  const textClose = `},"logprobs":null,"finish_reason":null}${tail}\n\n`;

  const opening = () => {
    if (started) return '';
    started = true;
    return frame({ role: 'assistant', content: '', refusal: null });
  };

  return {
    encode(event) {
      switch (event.type) {
        case 'start':
          return opening();
        case 'text-delta':
          if (event.delta === '') return opening();
          return opening() + textOpen + JSON.stringify(event.delta) + textClose;
        case 'tool-call-delta': {
          const call: Record<string, unknown> = { index: event.index };
          if (!seenToolCalls.has(event.index)) {
            seenToolCalls.add(event.index);
            call.id = event.id ?? `call_${event.index}`;
            call.type = 'function';
            call.function = { name: event.name ?? '', arguments: event.argumentsDelta };
          } else {
            call.function = { arguments: event.argumentsDelta };
          }
          return opening() + frame({ tool_calls: [call] });
        }
        case 'usage':
          usage = event.usage;
          return opening();
        case 'finish':
          return opening() + frame({}, toFinishReason(event.finishReason));
        default:
          // Reasoning has no place in Chat Completions' chunk format.
          return opening();
      }
    },
    end() {
      let out = opening();
      if (includeUsage && usage) {
        out += `data: ${head}],"usage":${JSON.stringify(toOpenAIUsage(usage))}}\n\n`;
      }
      return `${out}data: [DONE]\n\n`;
    },
    error(status, code, message) {
      return `data: ${JSON.stringify(toOpenAIErrorBody(status, code, message))}\n\n`;
    },
  };
}
