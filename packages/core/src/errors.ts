/**
 * Typed errors. Every error Keyhold raises is a `KeyholdError` with a stable snake_case `code`,
 * the HTTP `status` that best describes it, and a `transient` flag (DESIGN.md, "Reliability":
 * 408, 429, 5xx, timeouts and transport failures are transient; other 4xx are permanent).
 *
 * Messages are written by Keyhold, never copied from a provider's body: providers echo key
 * fragments ("Incorrect API key provided: sk-…abcd") and Gemini puts its key in the URL.
 */

const BRAND = Symbol.for('keyhold.error');

export type ErrorCode =
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'invalid_request_error'
  | 'not_found_error'
  | 'context_length_exceeded'
  | 'provider_unavailable'
  | 'timeout_error'
  | 'aborted';

export interface KeyholdErrorOptions {
  provider?: string;
  status?: number;
  /** The upstream HTTP status, when the error came from a provider response. */
  upstreamStatus?: number;
  /** The provider's own error type or code, only when it is a plain identifier. */
  providerCode?: string;
  cause?: unknown;
}

export abstract class KeyholdError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly transient: boolean;
  readonly status: number;
  readonly provider: string | undefined;
  readonly upstreamStatus: number | undefined;
  readonly providerCode: string | undefined;
  readonly [BRAND] = true;

  constructor(message: string, defaultStatus: number, options: KeyholdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? defaultStatus;
    this.provider = options.provider;
    this.upstreamStatus = options.upstreamStatus;
    this.providerCode = sanitizeIdentifier(options.providerCode);
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      transient: this.transient,
      provider: this.provider,
      upstreamStatus: this.upstreamStatus,
      providerCode: this.providerCode,
    };
  }
}

/** Missing, malformed or rejected credential. */
export class AuthenticationError extends KeyholdError {
  readonly code = 'authentication_error';
  readonly transient = false;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 401, options);
  }
}

/** The credential is valid but may not do this (model access, region, organisation). */
export class PermissionError extends KeyholdError {
  readonly code = 'permission_error';
  readonly transient = false;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 403, options);
  }
}

export class RateLimitError extends KeyholdError {
  readonly code = 'rate_limit_error';
  readonly transient = true;
  /** How long the provider asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: KeyholdErrorOptions & { retryAfterMs?: number }) {
    super(message, 429, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

export class InvalidRequestError extends KeyholdError {
  readonly code = 'invalid_request_error';
  readonly transient = false;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 400, options);
  }
}

export class NotFoundError extends KeyholdError {
  readonly code = 'not_found_error';
  readonly transient = false;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 404, options);
  }
}

/** The prompt (plus requested output) exceeds the model's context window. */
export class ContextLengthError extends KeyholdError {
  readonly code = 'context_length_exceeded';
  readonly transient = false;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 400, options);
  }
}

/** The provider failed (5xx, 408) or could not be reached. */
export class ProviderUnavailableError extends KeyholdError {
  readonly code = 'provider_unavailable';
  readonly transient = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: KeyholdErrorOptions & { retryAfterMs?: number }) {
    super(message, 502, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export class TimeoutError extends KeyholdError {
  readonly code = 'timeout_error';
  readonly transient = true;
  constructor(message: string, options?: KeyholdErrorOptions) {
    super(message, 504, options);
  }
}

/** The caller aborted the call (its `AbortSignal` fired). Never retried. */
export class AbortedError extends KeyholdError {
  readonly code = 'aborted';
  readonly transient = false;
  constructor(message = 'The call was aborted', options?: KeyholdErrorOptions) {
    super(message, 499, options);
  }
}

/** True for any Keyhold error, even one thrown by another copy of this package. */
export function isKeyholdError(value: unknown): value is KeyholdError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Provider error codes are kept only when they are plain identifiers, so no free text rides along. */
function sanitizeIdentifier(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(value) ? value : undefined;
}
