import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ContextLengthError,
  errorFromStatus,
  InvalidRequestError,
  isKeyholdError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  parseRetryAfter,
  RateLimitError,
  TimeoutError,
} from './index.js';

describe('errorFromStatus', () => {
  it.each([
    [400, InvalidRequestError, false],
    [401, AuthenticationError, false],
    [403, PermissionError, false],
    [404, NotFoundError, false],
    [408, TimeoutError, true],
    [429, RateLimitError, true],
    [500, ProviderUnavailableError, true],
    [502, ProviderUnavailableError, true],
    [503, ProviderUnavailableError, true],
    [504, TimeoutError, true],
    [529, ProviderUnavailableError, true],
  ])('maps %i to the right class and transient flag', (status, cls, transient) => {
    const error = errorFromStatus('openai', status, {});
    expect(error).toBeInstanceOf(cls);
    expect(error.transient).toBe(transient);
    expect(error.provider).toBe('openai');
    expect(error.upstreamStatus).toBe(status);
    expect(isKeyholdError(error)).toBe(true);
  });

  it('prefers a context-length reading over the status', () => {
    expect(errorFromStatus('anthropic', 400, {}, { contextLength: true })).toBeInstanceOf(ContextLengthError);
  });

  it('keeps a provider code only when it is a plain identifier', () => {
    expect(errorFromStatus('openai', 401, {}, { providerCode: 'invalid_api_key' }).providerCode).toBe(
      'invalid_api_key',
    );
    expect(
      errorFromStatus('openai', 401, {}, { providerCode: 'Incorrect key sk-abc' }).providerCode,
    ).toBeUndefined();
  });

  it('reads retry-after in seconds, milliseconds and as a date', () => {
    expect(parseRetryAfter({ 'retry-after': '3' })).toBe(3000);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '3' })).toBe(250);
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    expect(parseRetryAfter({ 'retry-after': inTwoSeconds })).toBeGreaterThan(500);
    expect(parseRetryAfter({})).toBeUndefined();
    expect((errorFromStatus('x', 429, { 'retry-after': '7' }) as RateLimitError).retryAfterMs).toBe(7000);
  });

  it('serialises without a cause or a stack', () => {
    const error = new AuthenticationError('bad', {
      provider: 'openai',
      cause: new Error('sk-secret-in-cause'),
    });
    expect(JSON.stringify(error)).not.toContain('sk-secret');
  });
});
