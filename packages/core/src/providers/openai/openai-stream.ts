import { isKeyholdError, type KeyholdError, ProviderUnavailableError } from '../../errors.js';
import type { SseEvent } from '../../transport/sse.js';
import type { StreamEvent, Usage } from '../../types/index.js';
import { transportError } from '../http-call.js';
import { splitContent } from './from-openai-response.js';
import { fromOpenAIUsage } from './from-openai-usage.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { openAIStreamError } from './openai-errors.js';
import type { OpenAIChatWire } from './openai-wire.js';

export interface OpenAIStreamContext {
  provider: string;
  /** The requested model, used only if the stream names none. */
  model: string;
  signal?: AbortSignal;
}

/**
 * OpenAI Chat Completions SSE (`data: {chunk}` … `data: [DONE]`) → neutral stream events.
 * https://platform.openai.com/docs/api-reference/chat-streaming
 *
 * `open` sends the request and returns the body's SSE events in batches; it is called on the
 * first iteration, so the adapter can return this generator as is (no `yield*` hop per event).
 *
 * - `start` comes from the first chunk with an id or a choice. Azure's first chunk has
 *   `choices: []`, an empty id and model and `prompt_filter_results`: it is skipped.
 * - Tool calls stream by `index`; the first delta of an index carries id and name. DeepSeek then
 *   sends argument pieces; Groq, Mistral and xAI the whole call at once; some compatible servers
 *   start indices at 1, so indices are renumbered from 0 in order of appearance. A call that got
 *   no argument text at all is closed with `{}`, as the non-streamed response has it.
 * - Usage arrives on a last chunk with `choices: []` (OpenAI with `stream_options.include_usage`,
 *   DeepSeek, xAI), on the finish chunk (Mistral), or in `x_groq.usage` (Groq); the last one seen
 *   is emitted before `finish`.
 * - An `{"error":…}` chunk is a typed error. A body that ends with neither `[DONE]` nor a finish
 *   reason was cut: that throws `ProviderUnavailableError`, never a quiet end.
 */
export async function* fromOpenAIStream(
  open: () => Promise<AsyncIterable<SseEvent[]>>,
  context: OpenAIStreamContext,
): AsyncGenerator<StreamEvent> {
  const { provider } = context;
  const batches = await open();
  let started = false;
  let done = false;
  let finishReason: string | undefined;
  let usage: Usage | undefined;
  // Wire index → neutral index, and whether that call got any argument text.
  const toolIndexes = new Map<number, number>();
  const toolHasArguments: boolean[] = [];
  try {
    for await (const batch of batches) {
      for (const event of batch) {
        // After [DONE] the body is read to its end (normally nothing follows), so the connection
        // goes back to the keep-alive pool instead of being destroyed.
        if (done) continue;
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = parseChunk(provider, event.data);
        if (chunk.error !== undefined || chunk.object === 'error') throw openAIStreamError(provider, chunk);
        const choices = chunk.choices;
        if (!started && (chunk.id || (choices !== undefined && choices.length > 0))) {
          started = true;
          yield { type: 'start', id: chunk.id ?? '', model: chunk.model || context.model };
        }
        const reported = chunk.usage ?? chunk.x_groq?.usage;
        if (reported) usage = fromOpenAIUsage(reported);
        if (choices === undefined) continue;
        for (const choice of choices) {
          if ((choice.index ?? 0) !== 0) continue;
          const delta = choice.delta;
          if (delta) {
            const { text, reasoning } = splitContent(delta.content);
            const thinking = reasoning + (delta.reasoning_content || delta.reasoning || '');
            if (thinking) yield { type: 'reasoning-delta', delta: thinking };
            if (text) yield { type: 'text-delta', delta: text };
            if (delta.refusal) yield { type: 'text-delta', delta: delta.refusal };
            const calls = delta.tool_calls;
            if (calls) {
              for (let position = 0; position < calls.length; position++) {
                const call = calls[position]!;
                const wireIndex = call.index ?? position;
                const raw = call.function?.arguments;
                const args = typeof raw === 'string' ? raw : raw ? JSON.stringify(raw) : '';
                let index = toolIndexes.get(wireIndex);
                if (index === undefined) {
                  index = toolIndexes.size;
                  toolIndexes.set(wireIndex, index);
                  toolHasArguments[index] = args !== '';
                  yield {
                    type: 'tool-call-delta',
                    index,
                    id: call.id || `call_${index}`,
                    name: call.function?.name ?? '',
                    argumentsDelta: args,
                  };
                } else if (args) {
                  toolHasArguments[index] = true;
                  yield { type: 'tool-call-delta', index, argumentsDelta: args };
                }
              }
            }
          }
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      }
    }
  } catch (error) {
    throw streamError(provider, error, context.signal);
  }
  if (!done && !finishReason) {
    throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
  }
  if (!started) yield { type: 'start', id: '', model: context.model };
  for (const [index, hasArguments] of toolHasArguments.entries()) {
    if (!hasArguments) yield { type: 'tool-call-delta', index, argumentsDelta: '{}' };
  }
  if (usage) yield { type: 'usage', usage };
  yield { type: 'finish', finishReason: mapOpenAIFinishReason(finishReason, toolIndexes.size > 0) };
}

function parseChunk(provider: string, data: string): OpenAIChatWire {
  try {
    return JSON.parse(data) as OpenAIChatWire;
  } catch {
    throw new ProviderUnavailableError(`${provider} sent a stream event that is not JSON`, { provider });
  }
}

/**
 * A failure while reading a started stream. A broken connection is reported as the stream ending
 * early; typed errors, timeouts and aborts keep their own class.
 */
function streamError(provider: string, error: unknown, signal: AbortSignal | undefined): KeyholdError {
  const mapped = transportError(provider, error, signal);
  if (isKeyholdError(error) || !(mapped instanceof ProviderUnavailableError)) return mapped;
  return new ProviderUnavailableError(`${provider} stream ended before completion`, {
    provider,
    providerCode: mapped.providerCode,
  });
}
