import { type KeyholdError, PermissionError, RateLimitError } from '../../errors.js';
import { errorFromStatus, mentionsContextLength, type UpstreamErrorInfo } from '../http-errors.js';
import type { OpenAIErrorWire } from './openai-wire.js';

/**
 * Reads an error body of the OpenAI family, never keeping its message (OpenAI's 401 quotes the
 * key: "Incorrect API key provided: sk-abc***wxyz"; DeepSeek's "Your api key: ****wxyz"). Shapes:
 * - OpenAI, Azure, Groq, DeepSeek, Ollama: `{"error":{"message","type","param","code"}}`
 *   (Azure's `code` is "401", "429" or "content_filter"). https://platform.openai.com/docs/guides/error-codes
 * - Mistral and vLLM, top level: `{"object":"error","message","type","param","code"}`; Mistral's
 *   401 is `{"message":"Unauthorized","request_id":…}` or `{"detail":"Unauthorized"}`.
 * - xAI: `{"code":"Client specified an invalid argument","error":"…"}`.
 * Only an identifier-like code or type is kept; the message is read to spot a context-length error.
 */
export function readOpenAIError(body: unknown): UpstreamErrorInfo {
  if (body === null || typeof body !== 'object') return {};
  const outer = body as OpenAIErrorWire & { error?: unknown; detail?: unknown };
  const error: OpenAIErrorWire =
    outer.error !== null && typeof outer.error === 'object' ? (outer.error as OpenAIErrorWire) : outer;
  const code = identifier(error.code) ?? identifier(error.type);
  const texts = [error.message, outer.error, outer.detail].filter((t): t is string => typeof t === 'string');
  return {
    ...(code ? { providerCode: code } : {}),
    ...(error.code === 'context_length_exceeded' || texts.some(mentionsContextLength)
      ? { contextLength: true }
      : {}),
  };
}

function identifier(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * An OpenAI 429 `insufficient_quota` is not a rate limit: the account is out of credit, and
 * retrying fails until someone pays, so it becomes a permanent `PermissionError`. Everything else
 * is returned unchanged. https://platform.openai.com/docs/guides/error-codes
 */
export function refineOpenAIError(provider: string, error: unknown): unknown {
  if (error instanceof RateLimitError && error.providerCode === 'insufficient_quota') {
    return new PermissionError(`${provider} refused the call: the account's quota is exhausted`, {
      provider,
      upstreamStatus: error.upstreamStatus,
      providerCode: error.providerCode,
    });
  }
  return error;
}

/** Statuses for in-stream errors, which arrive inside a 200 and carry only a type or code. */
const STATUS_OF_KIND: readonly [RegExp, number][] = [
  [/context_length/, 400],
  [/insufficient_quota|rate_limit|tokens_exceeded|requests/, 429],
  [/invalid_api_key|authentication|unauthorized/, 401],
  [/permission|forbidden/, 403],
  [/not_found/, 404],
  [/invalid_request|bad_request|badrequest/, 400],
  [/timeout/, 504],
];

/**
 * An `{"error":{…}}` chunk inside a 200 stream (OpenAI after the stream started; OpenRouter on a
 * provider failure, with a numeric HTTP-like `code`; vLLM `{"object":"error",…}`) → typed error.
 */
export function openAIStreamError(provider: string, chunk: unknown): KeyholdError {
  const info = readOpenAIError(chunk);
  const outer = chunk as { error?: unknown } & OpenAIErrorWire;
  const error = (
    outer.error !== null && typeof outer.error === 'object' ? outer.error : outer
  ) as OpenAIErrorWire;
  let status = 500;
  const numeric = typeof error.code === 'number' ? error.code : Number(error.code);
  if (Number.isInteger(numeric) && numeric >= 400 && numeric <= 599) status = numeric;
  else {
    const kind = `${String(error.type ?? '')} ${String(error.code ?? '')}`.toLowerCase();
    status = STATUS_OF_KIND.find(([pattern]) => pattern.test(kind))?.[1] ?? 500;
  }
  return refineOpenAIError(provider, errorFromStatus(provider, status, {}, info)) as KeyholdError;
}
