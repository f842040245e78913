import { type KeyholdError, PermissionError, RateLimitError } from '../../errors.js';
import { errorFromStatus, mentionsContextLength, type UpstreamErrorInfo } from '../http-errors.js';

/**
 * Anthropic's error body, on every HTTP error and as the data of an in-stream `event: error`:
 * `{"type":"error","error":{"type":"rate_limit_error","message":"…","details":{…}},"request_id":"req_…"}`.
 * https://docs.claude.com/en/api/errors
 */
interface AnthropicErrorBody {
  type?: unknown;
  error?: { type?: unknown; message?: unknown; details?: { error_code?: unknown } | null };
}

/**
 * The HTTP status Anthropic documents for each error type. An error that arrives inside a 200
 * stream has no status of its own, so it is classified through this table.
 */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * A 429 whose `details.error_code` says a spend limit was reached is not a rate limit: retrying
 * fails until the limit is raised or the month turns over, so it must not count as transient.
 * https://docs.claude.com/en/api/errors (rate limits vs. spend limits)
 */
const SPEND_LIMIT_CODES = new Set([
  'enforced_spend_limit_reached',
  'contract_spend_limit_reached',
  'linked_organization_spend_limit_reached',
]);

/** "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000" */
const EXCEEDS_CONTEXT_LIMIT = /exceed(s)? (the )?context limit/i;

/**
 * Reads an Anthropic error body: its type (or, for spend limits, the more telling
 * `details.error_code`) and whether the message speaks of the context window. The message itself
 * is never kept: it can echo part of the key.
 */
export function readAnthropicError(body: unknown): UpstreamErrorInfo {
  if (body === null || typeof body !== 'object') return {};
  const error = (body as AnthropicErrorBody).error;
  if (error === null || typeof error !== 'object') return {};
  const info: UpstreamErrorInfo = {};
  const detailCode = error.details?.error_code;
  if (typeof detailCode === 'string' && SPEND_LIMIT_CODES.has(detailCode)) info.providerCode = detailCode;
  else if (typeof error.type === 'string') info.providerCode = error.type;
  const message = typeof error.message === 'string' ? error.message : undefined;
  if (mentionsContextLength(message) || EXCEEDS_CONTEXT_LIMIT.test(message ?? '')) info.contextLength = true;
  return info;
}

/**
 * Refines the status-based error for the one case the status misleads about: a spend limit
 * (429) becomes a permanent `PermissionError`. Everything else is returned unchanged.
 */
export function refineAnthropicError(provider: string, error: unknown): unknown {
  if (error instanceof RateLimitError && error.providerCode && SPEND_LIMIT_CODES.has(error.providerCode)) {
    return new PermissionError(`${provider} refused the call: the account's spend limit is reached`, {
      provider,
      upstreamStatus: error.upstreamStatus,
      providerCode: error.providerCode,
    });
  }
  return error;
}

/**
 * Maps the data of an in-stream `event: error` to a typed error, as if it had come with the HTTP
 * status Anthropic documents for its type (`overloaded_error` → 529 → `ProviderUnavailableError`).
 * An unknown type counts as a provider failure (500).
 */
export function anthropicStreamError(provider: string, data: unknown): KeyholdError {
  const info = readAnthropicError(data);
  const type = (data as AnthropicErrorBody | null)?.error?.type;
  const status = (typeof type === 'string' && STATUS_OF_TYPE[type]) || 500;
  return refineAnthropicError(provider, errorFromStatus(provider, status, {}, info)) as KeyholdError;
}
