// The OpenAI chat completion and stream the benchmarks' upstream sends, as wire text: used by
// bench/gateway-mock-upstream.mjs (over HTTP) and bench/request-path.ts (without a socket), so
// both measure the same documents.

const WORDS = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', '.'];

/** A chat completion of `chunks` words, as OpenAI sends it. */
export function chatCompletion({ id, created, model, chunks }) {
  const text = Array.from({ length: chunks }, (_, i) => WORDS[i % WORDS.length]).join('');
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks },
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
  });
}

/**
 * The SSE events of one stream, in order, each a complete `data: …\n\n` block: a role chunk,
 * `chunks` content chunks, a finish chunk, a usage chunk (when `includeUsage`, as OpenAI does
 * with `stream_options.include_usage`) and `data: [DONE]`.
 */
export function chatStreamEvents({ id, created, model, chunks, includeUsage }) {
  const base = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"fp_mock"`;
  const usageNull = includeUsage ? ',"usage":null' : '';
  const events = [
    `data: ${base},"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${usageNull}}\n\n`,
  ];
  for (let i = 0; i < chunks; i++) {
    events.push(
      `data: ${base},"choices":[{"index":0,"delta":{"content":${JSON.stringify(WORDS[i % WORDS.length])}},"logprobs":null,"finish_reason":null}]${usageNull}}\n\n`,
    );
  }
  events.push(
    `data: ${base},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]${usageNull}}\n\n`,
  );
  if (includeUsage) {
    events.push(
      `data: ${base},"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${chunks},"total_tokens":${12 + chunks},"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\n`,
    );
  }
  events.push('data: [DONE]\n\n');
  return events;
}

/**
 * Earlier turns of a conversation, about `bytes` of JSON in all: real chat requests carry their
 * history, and a gateway's work on a request body grows with it. The text has what JSON escapes
 * (newlines, quotes) and brackets inside strings, as pasted code does.
 *
 * @param {number} bytes
 * @returns {{ role: 'user' | 'assistant', content: string }[]}
 */
export function conversationHistory(bytes) {
  const turn =
    'Here is the function:\n```ts\nconst xs = [1, 2, 3].map((x) => ({ value: x * 2 }));\n```\n' +
    'It prints "done" when {every} [item] is mapped. Why is it slow?';
  const turns = [];
  for (let size = 0; size < bytes; size += JSON.stringify(turn).length + 40) {
    turns.push({ role: turns.length % 2 ? 'assistant' : 'user', content: turn });
  }
  return turns;
}
