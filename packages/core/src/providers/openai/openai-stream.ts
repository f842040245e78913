import { ProviderUnavailableError } from '../../errors.js';
import { parseSseBatches } from '../../transport/sse.js';
import type { TransportResponse } from '../../transport/transport.js';
import type { StreamEvent, Usage } from '../../types/index.js';
import { transportError } from '../http-call.js';
import { errorFromStatus } from '../http-errors.js';
import {
  deltaReasoning,
  fromOpenAIUsage,
  mapOpenAIFinishReason,
  splitContent,
} from './from-openai-response.js';
import { readOpenAIError } from './openai-errors.js';
import type { OpenAIChatWire } from './openai-wire.js';

/**
 * OpenAI Chat Completions SSE (`data: {chunk}` … `data: [DONE]`) → neutral stream events.
 *
 * - Tool calls stream by `index`; the first delta of an index carries id and name. Providers
 *   differ in what follows (DeepSeek: argument pieces; Groq, Mistral, xAI: the whole call at once;
 *   some compatible servers start indices at 1), so indices are renumbered from 0 in order of
 *   first appearance.
 * - Usage comes on a last chunk with `choices: []` (OpenAI with `stream_options.include_usage`,
 *   DeepSeek, xAI), on the finish chunk (Mistral), or in `x_groq.usage` (Groq).
 * - Azure's first chunk has `choices: []`, an empty id and model and `prompt_filter_results`: the
 *   start event waits for a chunk with an id.
 * - A body that ends with neither `[DONE]` nor a finish reason was cut: that is an error.
 */
export async function* readOpenAIStream(
  provider: string,
  send: () => Promise<TransportResponse>,
  signal?: AbortSignal,
): AsyncGenerator<StreamEvent> {
  const { body } = await send();
  let started = false;
  let done = false;
  let finishReason: string | null | undefined;
  let usage: Usage | undefined;
  let sawToolCalls = false;
  const toolIndexes = new Map<number, number>();
  try {
    for await (const batch of parseSseBatches(body)) {
      for (const event of batch) {
        // Keep reading to the end of the body after [DONE] (normally nothing follows): leaving the
        // loop early would destroy the connection instead of returning it to the keep-alive pool.
        if (done) continue;
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        let chunk: OpenAIChatWire;
        try {
          chunk = JSON.parse(event.data) as OpenAIChatWire;
        } catch {
          throw new ProviderUnavailableError(`${provider} sent a stream event that is not JSON`, {
            provider,
          });
        }
        if (chunk.error) throw inStreamError(provider, chunk);
        if (!started && chunk.id) {
          started = true;
          yield { type: 'start', id: chunk.id, model: chunk.model ?? '' };
        }
        const reported = chunk.usage ?? chunk.x_groq?.usage;
        if (reported) usage = fromOpenAIUsage(reported);
        for (const choice of chunk.choices ?? []) {
          if ((choice.index ?? 0) !== 0) continue;
          const delta = choice.delta ?? {};
          const { text, reasoning } = splitContent(delta.content);
          const thinking = reasoning + deltaReasoning(delta);
          if (thinking) yield { type: 'reasoning-delta', delta: thinking };
          if (text) yield { type: 'text-delta', delta: text };
          for (const [position, call] of (delta.tool_calls ?? []).entries()) {
            const wireIndex = call.index ?? position;
            let index = toolIndexes.get(wireIndex);
            const args = call.function?.arguments ?? '';
            if (index === undefined) {
              index = toolIndexes.size;
              toolIndexes.set(wireIndex, index);
              sawToolCalls = true;
              yield {
                type: 'tool-call-delta',
                index,
                id: call.id ?? `call_${index}`,
                name: call.function?.name ?? '',
                argumentsDelta: args,
              };
            } else if (args) {
              yield { type: 'tool-call-delta', index, argumentsDelta: args };
            }
          }
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      }
    }
  } catch (error) {
    throw transportError(provider, error, signal);
  }
  if (!done && !finishReason) {
    throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
  }
  if (!started) yield { type: 'start', id: '', model: '' };
  if (usage) yield { type: 'usage', usage };
  yield { type: 'finish', finishReason: mapOpenAIFinishReason(finishReason, sawToolCalls) };
}

/** An `{"error":{…}}` event inside a 200 stream, classified by its type or code. */
function inStreamError(provider: string, chunk: OpenAIChatWire) {
  const info = readOpenAIError(chunk);
  const kind = `${chunk.error?.type ?? ''} ${chunk.error?.code ?? ''}`;
  const status = /rate_limit|quota/.test(kind)
    ? 429
    : /invalid_request/.test(kind)
      ? 400
      : /auth|invalid_api_key/.test(kind)
        ? 401
        : 500;
  return errorFromStatus(provider, status, {}, info);
}
