import {
  AuthenticationError,
  InvalidRequestError,
  type KeyholdError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  TimeoutError,
} from '../../errors.js';
import {
  errorFromStatus,
  mentionsContextLength,
  parseRetryAfter,
  type UpstreamErrorInfo,
} from '../http-errors.js';

/**
 * AWS names an error by its type, not its status: the same 400 or 403 can be a bad signature, a
 * denied model or a quota. The type comes in the `x-amzn-errortype` header
 * (`ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/`), in-stream as the
 * `:exception-type` header (`throttlingException`), and in some JSON bodies as `__type`.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
 * https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html
 */
const AUTHENTICATION = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'IncompleteSignature',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'MissingAuthenticationTokenException',
  'MissingAuthenticationToken',
  'RequestExpired',
]);

const RATE_LIMIT = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'TooManyRequestsException',
]);

const UNAVAILABLE = new Set([
  'InternalServerException',
  'InternalFailure',
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'ModelErrorException',
  'ModelStreamErrorException',
  'ModelNotReadyException',
]);

/**
 * Reads a Bedrock error: the type from the `x-amzn-errortype` header (or the body's `__type`), and
 * whether the message (`message`, or `Message` in some gateway-level errors) speaks of the
 * context window. The message itself is never kept.
 */
export function readBedrockError(
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): UpstreamErrorInfo & { authenticationFailed?: boolean } {
  const record = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const rawType =
    headers['x-amzn-errortype'] ?? (typeof record.__type === 'string' ? record.__type : undefined);
  const providerCode = normaliseErrorType(rawType);
  const message = typeof record.message === 'string' ? record.message : record.Message;
  const text = typeof message === 'string' ? message : undefined;
  const info: UpstreamErrorInfo & { authenticationFailed?: boolean } = {};
  if (providerCode) info.providerCode = providerCode;
  if (mentionsContextLength(text) || /too many input tokens/i.test(text ?? '')) info.contextLength = true;
  // A rejected Bedrock API key comes back as a bare 403 `{"Message":"Authentication failed: …"}`
  // with no error type; telling it from a real permission problem needs the wording.
  if (!providerCode && /authentication failed|api key/i.test(text ?? '')) info.authenticationFailed = true;
  return info;
}

/**
 * `ValidationException:http://internal…/` → `ValidationException`;
 * `throttlingException` (event-stream spelling) → `ThrottlingException`;
 * `com.amazon.coral.service#UnrecognizedClientException` → `UnrecognizedClientException`.
 */
export function normaliseErrorType(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const name = raw.split(':')[0]!.split('#').at(-1)!.trim();
  if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name)) return undefined;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Maps a Bedrock error (HTTP or in-stream) to a typed error, by its type first and status second. */
export function bedrockError(
  provider: string,
  status: number,
  headers: Readonly<Record<string, string>>,
  info: UpstreamErrorInfo & { authenticationFailed?: boolean },
): KeyholdError {
  const code = info.providerCode;
  const base = { provider, upstreamStatus: status, providerCode: code };
  const retryAfterMs = parseRetryAfter(headers);
  if (info.contextLength) return errorFromStatus(provider, status, headers, info);
  if ((code && AUTHENTICATION.has(code)) || info.authenticationFailed) {
    return new AuthenticationError(`${provider} rejected the credential (${status})`, base);
  }
  if (code === 'AccessDeniedException') {
    return new PermissionError(`${provider} refused access with this credential (${status})`, base);
  }
  if (code && RATE_LIMIT.has(code)) {
    return new RateLimitError(`${provider} is rate limiting this credential (${status})`, {
      ...base,
      retryAfterMs,
    });
  }
  if (code === 'ValidationException') {
    return new InvalidRequestError(`${provider} rejected the request as invalid (${status})`, base);
  }
  if (code === 'ResourceNotFoundException') {
    return new NotFoundError(`${provider} did not find the model or endpoint (${status})`, base);
  }
  if (code === 'ModelTimeoutException') return new TimeoutError(`${provider} timed out (${status})`, base);
  if (code && UNAVAILABLE.has(code)) {
    return new ProviderUnavailableError(`${provider} is unavailable (${status})`, {
      ...base,
      status: status === 503 || code === 'ModelNotReadyException' ? 503 : 502,
      retryAfterMs,
    });
  }
  return errorFromStatus(provider, status, headers, info);
}

/** The HTTP status AWS documents for each in-stream exception of ConverseStream. */
export const STREAM_EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  ThrottlingException: 429,
  ServiceQuotaExceededException: 400,
  ModelStreamErrorException: 424,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  ValidationException: 400,
  ModelTimeoutException: 408,
};
