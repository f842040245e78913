import {
  AuthenticationError,
  ContextLengthError,
  InvalidRequestError,
  type KeyholdError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  TimeoutError,
} from '../errors.js';

/** What an adapter learned from an error body, without keeping any of its free text. */
export interface UpstreamErrorInfo {
  /** The provider's error type or code (kept only if it is a plain identifier). */
  providerCode?: string;
  /** The body says the context window was exceeded. */
  contextLength?: boolean;
  /** A retry delay the body carried (Gemini's RetryInfo). */
  retryAfterMs?: number;
}

/**
 * Maps an upstream HTTP status to a typed error. Messages are Keyhold's own; the provider's body
 * is never copied into them because it can echo the key.
 */
export function errorFromStatus(
  provider: string,
  status: number,
  headers: Readonly<Record<string, string>>,
  info: UpstreamErrorInfo = {},
): KeyholdError {
  const base = { provider, upstreamStatus: status, providerCode: info.providerCode };
  const retryAfterMs = info.retryAfterMs ?? parseRetryAfter(headers);
  if (info.contextLength) {
    return new ContextLengthError(`The request exceeds the model's context window (${provider})`, base);
  }
  switch (status) {
    case 400:
    case 422:
      return new InvalidRequestError(`${provider} rejected the request as invalid (${status})`, base);
    case 401:
      return new AuthenticationError(`${provider} rejected the credential (401)`, base);
    case 403:
      return new PermissionError(`${provider} refused access with this credential (403)`, base);
    case 404:
      return new NotFoundError(`${provider} did not find the model or endpoint (404)`, base);
    case 408:
      return new TimeoutError(`${provider} timed out (408)`, base);
    case 413:
      return new InvalidRequestError(`${provider} rejected the request as too large (413)`, base);
    case 429:
      return new RateLimitError(`${provider} is rate limiting this credential (429)`, {
        ...base,
        retryAfterMs,
      });
    case 504:
      return new TimeoutError(`${provider} timed out (504)`, base);
    default:
      if (status >= 500) {
        return new ProviderUnavailableError(`${provider} is unavailable (${status})`, {
          ...base,
          status: status === 503 ? 503 : 502,
          retryAfterMs,
        });
      }
      if (status === 402)
        return new PermissionError(`${provider} refused the call: payment required (402)`, base);
      return new InvalidRequestError(`${provider} rejected the request (${status})`, base);
  }
}

/** `retry-after-ms` (OpenAI), `retry-after` in seconds or as an HTTP date. */
export function parseRetryAfter(headers: Readonly<Record<string, string>>): number | undefined {
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0 && headers['retry-after-ms'] !== undefined) return ms;
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

const CONTEXT_PATTERNS = [
  /context[_ ]length/i,
  /context window/i,
  /maximum context/i,
  /too many tokens/i,
  /prompt is too long/i,
  /input is too long/i,
  /exceeds the (maximum|max) (number of )?tokens/i,
  /input token count.*exceeds/i,
];

/** Recognises a context-length error in a provider's message (read, never copied). */
export function mentionsContextLength(text: string | undefined): boolean {
  return typeof text === 'string' && CONTEXT_PATTERNS.some((p) => p.test(text));
}
