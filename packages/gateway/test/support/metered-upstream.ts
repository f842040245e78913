import type { ServerResponse } from 'node:http';
import { type RecordedRequest, sendJson, sendSse } from '../../../core/test/support/upstream-server.js';

/** Token counts an OpenAI-wire upstream reports, in OpenAI's usage shape. */
export interface WireUsage {
  prompt: number;
  completion: number;
  cached?: number;
  reasoning?: number;
}

export interface OpenAIWireScript {
  /** Usage the upstream reports (non-streamed, and streamed when `streamUsage` is not false). */
  usage: WireUsage;
  /** Text pieces of a streamed answer; joined for a non-streamed one. Default `['Hello', ' there']`. */
  pieces?: string[];
  /** Send the usage chunk when the client asked for it (default true). */
  streamUsage?: boolean;
  /** Wait before answering a non-streamed call (ms), so concurrent calls overlap. */
  delayMs?: number;
  /** Delay between stream events (ms). */
  chunkDelayMs?: number;
  /** Destroy the connection after this many stream events. */
  cutAfter?: number;
}

/** OpenAI's `usage` object (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). */
export function toWireUsage(u: WireUsage) {
  return {
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    total_tokens: u.prompt + u.completion,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * A local upstream speaking OpenAI's chat and embeddings wire (hand-made bodies modelled on the
 * recorded fixtures: a `chat.completion`, `chat.completion.chunk`s with `usage: null` until the
 * final `choices: []` chunk that carries usage when `stream_options.include_usage` is set, then
 * `[DONE]`), answering with the token counts of a script.
 */
export function openAIWire(script: OpenAIWireScript) {
  return async (r: RecordedRequest, res: ServerResponse): Promise<void> => {
    const pieces = script.pieces ?? ['Hello', ' there'];
    if (r.path.endsWith('/embeddings')) {
      const inputs: string[] = Array.isArray(r.body.input) ? r.body.input : [r.body.input];
      return sendJson(res, 200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.5, -0.5] })),
        model: r.body.model,
        usage: { prompt_tokens: script.usage.prompt, total_tokens: script.usage.prompt },
      });
    }
    const base = { id: 'chatcmpl-m1', created: 1770933883, model: r.body.model, system_fingerprint: 'fp_m1' };
    if (!r.body.stream) {
      if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs));
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: pieces.join(''), refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: toWireUsage(script.usage),
        service_tier: 'default',
      });
    }
    const chunk = (choices: unknown[], usage: unknown = null) =>
      JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, usage });
    const delta = (d: unknown, finish: string | null = null) => [
      { index: 0, delta: d, logprobs: null, finish_reason: finish },
    ];
    const events = [
      { data: chunk(delta({ role: 'assistant', content: '', refusal: null })) },
      ...pieces.map((p) => ({ data: chunk(delta({ content: p })) })),
      { data: chunk(delta({}, 'stop')) },
    ];
    if (script.streamUsage !== false && r.body.stream_options?.include_usage) {
      events.push({ data: chunk([], toWireUsage(script.usage)) });
    }
    events.push({ data: '[DONE]' });
    await sendSse(res, events, {
      ...(script.chunkDelayMs ? { delayMs: script.chunkDelayMs } : {}),
      ...(script.cutAfter !== undefined ? { cutAfter: script.cutAfter } : {}),
    });
  };
}

/** OpenAI's 500 body, as its API sends it. */
export function openAIServerError(_r: RecordedRequest, res: ServerResponse): void {
  sendJson(res, 500, {
    error: {
      message: 'The server had an error while processing your request.',
      type: 'server_error',
      param: null,
      code: null,
    },
  });
}
