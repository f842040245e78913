import { isKeyholdError, ProviderUnavailableError } from '../../errors.js';
import type { AbortSignalLike } from '../../transport/abort.js';
import type { SseEvent } from '../../transport/sse.js';
import type { StreamEvent } from '../../types/index.js';
import { safeJson, transportError } from '../http-call.js';
import { PartialArgsAssembler } from './assemble-partial-args.js';
import { fromGeminiUsage, hasTokenCounts, toolCallId } from './from-gemini-response.js';
import { geminiError, readGeminiError, statusOfGeminiError } from './gemini-errors.js';
import type { GeminiFunctionCall, GeminiResponse, GeminiUsageMetadata } from './gemini-wire.js';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.js';

export interface GeminiStreamContext {
  provider: string;
  /** The model asked for; `modelVersion` wins when Gemini names one. */
  model: string;
  /** Used when the chunks carry no `responseId`. */
  fallbackId: string;
  signal?: AbortSignalLike;
}

interface OpenCall {
  index: number;
  args: PartialArgsAssembler;
}

/**
 * Maps `streamGenerateContent?alt=sse` events to neutral stream events.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 *
 * Each event is a whole `GenerateContentResponse`: text parts are increments, `usageMetadata` is
 * cumulative (Vertex sends counts only on the last chunk), and the last chunk carries
 * `finishReason`. There is no `[DONE]`: a body that ends before a `finishReason` (or a prompt
 * block, which ends the stream without one) was cut and throws `ProviderUnavailableError`.
 * Usage and finish are emitted once, when the body ends.
 *
 * A function call normally arrives whole in one part and is emitted as one `tool-call-delta`.
 * Vertex can stream its arguments: `{name, willContinue: true}` opens the call (emitted at once
 * with empty arguments), `{partialArgs, willContinue: true}` parts add to it and a part without
 * `willContinue` closes it, when the assembled arguments are emitted as one JSON delta.
 * An `{"error": …}` event becomes the matching typed error.
 */
export async function* fromGeminiStream(
  events: AsyncIterable<SseEvent>,
  context: GeminiStreamContext,
): AsyncGenerator<StreamEvent> {
  const { provider } = context;
  let started = false;
  let finishReason: string | undefined;
  let blocked = false;
  let usage: GeminiUsageMetadata | undefined;
  let toolCalls = 0;
  let open: OpenCall | undefined;

  const close = (call: OpenCall): StreamEvent => ({
    type: 'tool-call-delta',
    index: call.index,
    argumentsDelta: call.args.toJson(),
  });
  const addPieces = (call: OpenCall, functionCall: GeminiFunctionCall) => {
    try {
      call.args.add(functionCall.partialArgs ?? []);
    } catch {
      throw new ProviderUnavailableError(`${provider} streamed function-call arguments Keyhold cannot read`, {
        provider,
      });
    }
  };

  try {
    for await (const event of events) {
      const chunk = safeJson(event.data) as GeminiResponse | undefined;
      if (chunk === null || typeof chunk !== 'object') {
        throw new ProviderUnavailableError(`${provider} sent a stream event that is not JSON`, { provider });
      }
      if (chunk.error !== undefined) {
        throw geminiError(provider, statusOfGeminiError(chunk), {}, readGeminiError(chunk));
      }
      if (!started) {
        started = true;
        yield {
          type: 'start',
          id: chunk.responseId ?? context.fallbackId,
          model: chunk.modelVersion ?? context.model,
        };
      }
      const candidate = chunk.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        const call = part.functionCall;
        if (call) {
          if (call.name !== undefined) {
            if (open) {
              yield close(open);
              open = undefined;
            }
            const index = toolCalls++;
            const head = {
              type: 'tool-call-delta',
              index,
              id: toolCallId(call, index),
              name: call.name,
            } as const;
            if (call.willContinue) {
              open = { index, args: new PartialArgsAssembler() };
              addPieces(open, call);
              yield { ...head, argumentsDelta: '' };
            } else {
              yield { ...head, argumentsDelta: JSON.stringify(call.args ?? {}) };
            }
          } else if (open) {
            addPieces(open, call);
            if (!call.willContinue) {
              yield close(open);
              open = undefined;
            }
          }
          continue;
        }
        if (typeof part.text === 'string' && part.text !== '') {
          yield part.thought
            ? { type: 'reasoning-delta', delta: part.text }
            : { type: 'text-delta', delta: part.text };
        }
      }
      if (candidate?.finishReason) finishReason = candidate.finishReason;
      if (!candidate && chunk.promptFeedback?.blockReason) blocked = true;
      if (hasTokenCounts(chunk.usageMetadata)) usage = chunk.usageMetadata;
    }
  } catch (error) {
    throw streamFailure(provider, error, context.signal);
  }

  if (finishReason === undefined && !blocked) {
    throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
  }
  if (open) yield close(open);
  if (usage) yield { type: 'usage', usage: fromGeminiUsage(usage) };
  yield {
    type: 'finish',
    finishReason:
      blocked && finishReason === undefined
        ? 'content_filter'
        : mapGeminiFinishReason(finishReason, toolCalls > 0),
  };
}

/** A body that breaks off mid-way is a cut stream, not an unreachable provider. */
function streamFailure(provider: string, error: unknown, signal?: AbortSignalLike) {
  if (isKeyholdError(error)) return error;
  const mapped = transportError(provider, error, signal);
  if (mapped instanceof ProviderUnavailableError) {
    return new ProviderUnavailableError(`${provider} stream ended before completion`, {
      provider,
      providerCode: mapped.providerCode,
    });
  }
  return mapped;
}
