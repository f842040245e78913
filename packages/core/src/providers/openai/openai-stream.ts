import { isKeyholdError, type KeyholdError, ProviderUnavailableError } from '../../errors.js';
import type { AbortSignalLike } from '../../transport/abort.js';
import { EventBatches } from '../../transport/event-batches.js';
import type { SseEvent } from '../../transport/sse.js';
import type { StreamEvent, Usage } from '../../types/index.js';
import { transportError } from '../http-call.js';
import { splitContent } from './from-openai-response.js';
import { fromOpenAIUsage } from './from-openai-usage.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { openAIStreamError } from './openai-errors.js';
import type { OpenAIChatWire, OpenAIToolCallWire } from './openai-wire.js';
import { TextChunkLayout } from './text-chunk-layout.js';

export interface OpenAIStreamContext {
  provider: string;
  /** The requested model, used only if the stream names none. */
  model: string;
  signal?: AbortSignalLike;
}

/**
 * OpenAI Chat Completions SSE (`data: {chunk}` … `data: [DONE]`) → neutral stream events.
 * https://platform.openai.com/docs/api-reference/chat-streaming
 *
 * `open` sends the request and returns the body's SSE events in batches; it is called on the
 * first iteration. Events come out in batches too, one per body chunk (see `EventBatches`).
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
export function fromOpenAIStream(
  open: () => Promise<AsyncIterable<SseEvent[]>>,
  context: OpenAIStreamContext,
): EventBatches {
  return new EventBatches(openAIBatches(open, context));
}

async function* openAIBatches(
  open: () => Promise<AsyncIterable<SseEvent[]>>,
  context: OpenAIStreamContext,
): AsyncGenerator<StreamEvent[]> {
  const batches = await open();
  const reader = new OpenAIStreamReader(context);
  try {
    for await (const batch of batches) {
      const out: StreamEvent[] = [];
      try {
        for (const event of batch) reader.read(event, out);
      } catch (error) {
        // Events before the failing one in the same body chunk still reach the caller first.
        if (out.length > 0) yield out;
        throw error;
      }
      if (out.length > 0) yield out;
    }
  } catch (error) {
    throw streamError(context.provider, error, context.signal);
  }
  yield reader.end();
}

/** The per-stream state of `fromOpenAIStream`: reads one SSE event at a time, synchronously. */
class OpenAIStreamReader {
  readonly #context: OpenAIStreamContext;
  #started = false;
  #done = false;
  #finishReason: string | undefined;
  #usage: Usage | undefined;
  // Wire index → neutral index, and whether that call got any argument text.
  readonly #toolIndexes = new Map<number, number>();
  readonly #toolHasArguments: boolean[] = [];
  readonly #layout = new TextChunkLayout();

  constructor(context: OpenAIStreamContext) {
    this.#context = context;
  }

  read(event: SseEvent, out: StreamEvent[]): void {
    // After [DONE] the body is read to its end (normally nothing follows), so the connection goes
    // back to the keep-alive pool instead of being destroyed.
    if (this.#done) return;
    if (event.data === '[DONE]') {
      this.#done = true;
      return;
    }
    if (this.#started) {
      // A text chunk of the layout already seen: its content without a JSON parse.
      const text = this.#layout.read(event.data);
      if (text !== undefined) {
        if (text !== '') out.push({ type: 'text-delta', delta: text });
        return;
      }
    }
    const provider = this.#context.provider;
    const chunk = parseChunk(provider, event.data);
    if (chunk.error !== undefined || chunk.object === 'error') throw openAIStreamError(provider, chunk);
    const choices = chunk.choices;
    if (!this.#started && (chunk.id || (choices !== undefined && choices.length > 0))) {
      this.#started = true;
      out.push({ type: 'start', id: chunk.id ?? '', model: chunk.model || this.#context.model });
    }
    this.#layout.learn(event.data, chunk);
    const reported = chunk.usage ?? chunk.x_groq?.usage;
    if (reported) this.#usage = fromOpenAIUsage(reported);
    if (choices === undefined) return;
    for (const choice of choices) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta;
      if (delta) {
        const content = delta.content;
        let text: string | null = null;
        let reasoning = '';
        // Nearly every chunk carries a plain string: no part array to split.
        if (typeof content === 'string') text = content;
        else ({ text, reasoning } = splitContent(content));
        const thinking = reasoning + (delta.reasoning_content || delta.reasoning || '');
        if (thinking) out.push({ type: 'reasoning-delta', delta: thinking });
        if (text) out.push({ type: 'text-delta', delta: text });
        if (delta.refusal) out.push({ type: 'text-delta', delta: delta.refusal });
        if (delta.tool_calls) this.#readToolCalls(delta.tool_calls, out);
      }
      if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    }
  }

  #readToolCalls(calls: OpenAIToolCallWire[], out: StreamEvent[]): void {
    for (let position = 0; position < calls.length; position++) {
      const call = calls[position]!;
      const wireIndex = call.index ?? position;
      const raw = call.function?.arguments;
      const args = typeof raw === 'string' ? raw : raw ? JSON.stringify(raw) : '';
      let index = this.#toolIndexes.get(wireIndex);
      if (index === undefined) {
        index = this.#toolIndexes.size;
        this.#toolIndexes.set(wireIndex, index);
        this.#toolHasArguments[index] = args !== '';
        out.push({
          type: 'tool-call-delta',
          index,
          id: call.id || `call_${index}`,
          name: call.function?.name ?? '',
          argumentsDelta: args,
        });
      } else if (args) {
        this.#toolHasArguments[index] = true;
        out.push({ type: 'tool-call-delta', index, argumentsDelta: args });
      }
    }
  }

  /** The body ended: the closing events, or the error of a stream that was cut. */
  end(): StreamEvent[] {
    const { provider, model } = this.#context;
    if (!this.#done && !this.#finishReason) {
      throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
    }
    const out: StreamEvent[] = [];
    if (!this.#started) out.push({ type: 'start', id: '', model });
    for (const [index, hasArguments] of this.#toolHasArguments.entries()) {
      if (!hasArguments) out.push({ type: 'tool-call-delta', index, argumentsDelta: '{}' });
    }
    if (this.#usage) out.push({ type: 'usage', usage: this.#usage });
    out.push({
      type: 'finish',
      finishReason: mapOpenAIFinishReason(this.#finishReason, this.#toolIndexes.size > 0),
    });
    return out;
  }
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
function streamError(provider: string, error: unknown, signal: AbortSignalLike | undefined): KeyholdError {
  const mapped = transportError(provider, error, signal);
  if (isKeyholdError(error) || !(mapped instanceof ProviderUnavailableError)) return mapped;
  return new ProviderUnavailableError(`${provider} stream ended before completion`, {
    provider,
    providerCode: mapped.providerCode,
  });
}
