import { AbortedError } from '../../errors.js';
import type { AbortSignalLike } from '../../transport/abort.js';
import type {
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  StreamEvent,
  Usage,
} from '../../types/index.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { errorFromStatus } from '../http-errors.js';

/** One scripted answer of the fake provider. */
export interface FakeStep {
  text?: string;
  reasoning?: string;
  toolCalls?: { id?: string; name: string; arguments: unknown }[];
  /** Fail with this upstream status instead of answering (mapped like a real provider's). */
  error?: { status: number; retryAfterMs?: number; contextLength?: boolean };
  /** Wait before answering (ms). */
  delayMs?: number;
  /** Wait between stream chunks (ms). */
  chunkDelayMs?: number;
  /** Characters per text chunk when streaming (default: one word per chunk). */
  chunkSize?: number;
  usage?: Partial<Usage>;
  finishReason?: FinishReason;
}

export interface FakeAdapterOptions {
  /** Answers in order (the last repeats), or a function of the request. Default: echo the last user message. */
  script?: FakeStep[] | ((request: ChatRequest) => FakeStep);
  /** Keys the fake treats as rejected by the provider (401), e.g. to demo an invalid credential. */
  rejectKey?: (key: string) => boolean;
  embedDimensions?: number;
}

/** What the fake saw of a call: only a key hint, never the key. */
export interface FakeCall {
  model: string;
  keyHint: string;
  operation: 'chat' | 'embedding';
}

export interface FakeAdapter extends ProviderAdapter {
  readonly calls: readonly FakeCall[];
}

/**
 * A scripted provider for tests and demos: no network, deterministic output, real error mapping,
 * delays and aborts. With no script it echoes the last user message.
 */
export function createFakeAdapter(options: FakeAdapterOptions = {}, provider = 'fake'): FakeAdapter {
  const calls: FakeCall[] = [];
  let step = 0;

  function next(request: ChatRequest): FakeStep {
    const { script } = options;
    if (typeof script === 'function') return script(request);
    if (script && script.length > 0) return script[Math.min(step++, script.length - 1)]!;
    return { text: `You said: ${lastUserText(request)}` };
  }

  async function begin(
    request: ChatRequest | EmbedRequest,
    call: CallContext,
    operation: FakeCall['operation'],
  ) {
    const key = call.credential.secrets.apiKey;
    calls.push({ model: request.model, keyHint: key?.hint ?? '', operation });
    if (calls.length > 1000) calls.shift();
    if (key && options.rejectKey?.(key.reveal())) throw errorFromStatus(provider, 401, {});
  }

  return {
    provider,
    calls,
    async generate(request, call) {
      await begin(request, call, 'chat');
      const s = next(request);
      await pause(s.delayMs, call.signal);
      if (s.error) throw errorFromStatus(provider, s.error.status, {}, s.error);
      return toResult(request, s);
    },
    async *stream(request, call) {
      await begin(request, call, 'chat');
      const s = next(request);
      await pause(s.delayMs, call.signal);
      if (s.error) throw errorFromStatus(provider, s.error.status, {}, s.error);
      const result = toResult(request, s);
      yield { type: 'start', id: result.id, model: result.model } satisfies StreamEvent;
      if (s.reasoning) yield { type: 'reasoning-delta', delta: s.reasoning };
      for (const piece of chunk(s.text ?? '', s.chunkSize)) {
        await pause(s.chunkDelayMs, call.signal);
        yield { type: 'text-delta', delta: piece };
      }
      for (const [index, tc] of result.toolCalls.entries()) {
        yield { type: 'tool-call-delta', index, id: tc.id, name: tc.name, argumentsDelta: tc.arguments };
      }
      yield { type: 'usage', usage: result.usage };
      yield { type: 'finish', finishReason: result.finishReason };
    },
    async embed(request, call): Promise<EmbedResult> {
      await begin(request, call, 'embedding');
      const dims = request.dimensions ?? options.embedDimensions ?? 8;
      return {
        model: request.model,
        embeddings: request.input.map((text) => vectorOf(text, dims)),
        usage: { inputTokens: request.input.reduce((n, t) => n + countTokens(t), 0) },
      };
    },
  };
}

function toResult(request: ChatRequest, s: FakeStep): ChatResult {
  const toolCalls = (s.toolCalls ?? []).map((tc, i) => ({
    id: tc.id ?? `call_fake_${i}`,
    name: tc.name,
    arguments: typeof tc.arguments === 'string' ? tc.arguments : JSON.stringify(tc.arguments ?? {}),
  }));
  const inputTokens =
    s.usage?.inputTokens ?? request.messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0);
  const outputTokens = s.usage?.outputTokens ?? countTokens(s.text ?? '') + toolCalls.length * 8;
  return {
    id: `fake-${Math.random().toString(36).slice(2, 12)}`,
    model: request.model,
    content: s.text ?? (toolCalls.length > 0 ? null : ''),
    ...(s.reasoning ? { reasoning: s.reasoning } : {}),
    toolCalls,
    finishReason: s.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: {
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens,
      ...(s.usage?.cachedInputTokens !== undefined ? { cachedInputTokens: s.usage.cachedInputTokens } : {}),
      ...(s.usage?.reasoningTokens !== undefined ? { reasoningTokens: s.usage.reasoningTokens } : {}),
    },
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p?.type === 'text' ? p.text : '')).join(' ');
  return '';
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!;
    if (m.role === 'user') return textOf(m.content);
  }
  return '';
}

/** About four characters a token, like the providers' rule of thumb. */
function countTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

function chunk(text: string, size?: number): string[] {
  if (!text) return [];
  if (size && size > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
  }
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

function vectorOf(text: string, dims: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Array.from({ length: dims }, (_, i) => Math.round((Math.sin(h + i) + 1) * 5000) / 10000);
}

function pause(ms: number | undefined, signal?: AbortSignalLike): Promise<void> {
  if (!ms) {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new AbortedError());
      },
      { once: true },
    );
  });
}
