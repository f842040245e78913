import { AuthenticationError, type KeyholdError } from '../../errors.js';
import { errorFromStatus, mentionsContextLength, type UpstreamErrorInfo } from '../http-errors.js';

/** What a Gemini error body says, beyond the generic `UpstreamErrorInfo`. */
export interface GeminiErrorInfo extends UpstreamErrorInfo {
  /** The body says the API key itself was rejected (Gemini answers that with 400, not 401). */
  authenticationFailed?: boolean;
}

interface GoogleRpcError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; reason?: string; retryDelay?: string }[];
}

/** `ErrorInfo.reason`s that mean the key is wrong, not merely restricted (those come as 403). */
const KEY_REJECTED = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED']);

/**
 * Reads a Google error body, `{"error":{"code","message","status","details":[…]}}` (the
 * `streamGenerateContent` endpoint without `alt=sse` wraps it in an array):
 * - `providerCode`: the `ErrorInfo.reason` when there is one (`API_KEY_INVALID`), else the
 *   canonical `status` (`RESOURCE_EXHAUSTED`);
 * - `retryAfterMs` from `RetryInfo.retryDelay` (a protobuf Duration such as `"34.4s"`);
 * - whether the message speaks of the context window or of an invalid key.
 * The message is only matched against, never kept: Google's messages can quote the request URL,
 * and with it a key passed as `?key=`.
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 * https://cloud.google.com/apis/design/errors#error_model
 */
export function readGeminiError(body: unknown): GeminiErrorInfo {
  const error = unwrap(body);
  if (!error) return {};
  const info: GeminiErrorInfo = {};
  const reason = error.details?.find((d) => typeof d?.reason === 'string')?.reason;
  const code = reason ?? error.status;
  if (typeof code === 'string') info.providerCode = code;
  const retryDelay = error.details?.find((d) => d?.['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const retryAfterMs = parseDuration(retryDelay);
  if (retryAfterMs !== undefined) info.retryAfterMs = retryAfterMs;
  const message = typeof error.message === 'string' ? error.message : undefined;
  if (mentionsContextLength(message)) info.contextLength = true;
  if (
    (reason !== undefined && KEY_REJECTED.has(reason)) ||
    error.status === 'UNAUTHENTICATED' ||
    /api key (not valid|expired|is invalid)/i.test(message ?? '')
  ) {
    info.authenticationFailed = true;
  }
  return info;
}

/**
 * The typed error for a Gemini error: by status, except that a rejected key is an
 * `AuthenticationError` whatever the status (Gemini says "API key not valid" with a 400).
 */
export function geminiError(
  provider: string,
  status: number,
  headers: Readonly<Record<string, string>>,
  info: GeminiErrorInfo,
): KeyholdError {
  if (info.authenticationFailed) {
    return new AuthenticationError(`${provider} rejected the credential (${status})`, {
      provider,
      upstreamStatus: status,
      providerCode: info.providerCode,
    });
  }
  return errorFromStatus(provider, status, headers, info);
}

/** The HTTP status a Google RPC error object stands for (its `code`), for in-stream errors. */
export function statusOfGeminiError(body: unknown): number {
  const code = unwrap(body)?.code;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500;
}

function unwrap(body: unknown): GoogleRpcError | undefined {
  const first = Array.isArray(body) ? body[0] : body;
  if (first === null || typeof first !== 'object') return undefined;
  const error = (first as { error?: unknown }).error;
  return error !== null && typeof error === 'object' ? (error as GoogleRpcError) : undefined;
}

/** `"37s"`, `"34.4s"`, `"0.5s"` → milliseconds. */
function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}
