import { isKeyholdError } from '@keyhold/core';

/**
 * A refusal or failure the gateway reports to a client. Surfaces render it in their own error
 * shape (OpenAI's error object, Anthropic's). `message` is always Keyhold's own text.
 */
export interface Problem {
  status: number;
  /** Stable snake_case code, e.g. `model_not_found`, `invalid_api_key`. */
  code: string;
  message: string;
  /** The request field at fault, when there is one. */
  param?: string;
  /** Sent as `retry-after` (seconds) on 429 and 503. */
  retryAfterSeconds?: number;
  /** Extra response headers (`x-ratelimit-*` on a rate-limit refusal), lower-case names. */
  headers?: Readonly<Record<string, string>>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export function problem(status: number, code: string, message: string, param?: string): Problem {
  return param === undefined ? { status, code, message } : { status, code, message, param };
}

/**
 * The one place where thrown errors (core's typed errors from adapters and the engine, or anything
 * unexpected) become client-facing problems. Upstream statuses map to what clients expect: the
 * provider rejecting the credential is 401, a provider's own 404 stays 404, 5xx become 502, an
 * upstream timeout 504. Unknown errors are a generic 500 with no detail.
 */
export function problemFromError(error: unknown): Problem {
  if (!isKeyholdError(error)) return problem(500, 'internal_error', 'Internal error');
  const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
  // Assigned, not `{ ...p, retryAfterSeconds }` (test/hot-path-literals.test.ts): `p` is always
  // a fresh problem.
  const withRetry = (p: Problem): Problem => {
    if (retryAfterMs !== undefined) p.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return p;
  };
  const provider = error.provider ?? 'the provider';
  switch (error.code) {
    case 'authentication_error':
      return problem(
        401,
        'provider_credential_rejected',
        error.upstreamStatus ? `${provider} rejected the credential used for this request` : error.message,
      );
    case 'permission_error':
      return problem(403, 'provider_permission_denied', error.message);
    case 'rate_limit_error':
      return withRetry(problem(429, 'rate_limit_exceeded', error.message));
    case 'invalid_request_error':
      return problem(400, 'invalid_request', error.message);
    case 'context_length_exceeded':
      return problem(400, 'context_length_exceeded', error.message);
    case 'not_found_error':
      return problem(404, 'model_not_found', error.message);
    case 'timeout_error':
      return problem(504, 'upstream_timeout', error.message);
    case 'provider_unavailable':
      return withRetry(
        error.upstreamStatus === 503
          ? problem(503, 'upstream_unavailable', error.message)
          : problem(502, 'upstream_error', error.message),
      );
    case 'aborted':
      return problem(499, 'client_closed_request', error.message);
    default:
      return problem(500, 'internal_error', 'Internal error');
  }
}
