import { describe, expect, it } from 'vitest';
import { anthropicErrorType, toAnthropicErrorBody } from './anthropic-errors.js';

describe('toAnthropicErrorBody', () => {
  it("builds Anthropic's error envelope", () => {
    expect(toAnthropicErrorBody(401, 'Missing or invalid virtual key.')).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'Missing or invalid virtual key.' },
    });
  });

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [402, 'billing_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [409, 'conflict_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'timeout_error'],
    [529, 'overloaded_error'],
    // Unlisted statuses: Anthropic uses invalid_request_error for other 4XX; other 5xx are api_error.
    [405, 'invalid_request_error'],
    [422, 'invalid_request_error'],
    [501, 'api_error'],
    [599, 'api_error'],
  ])('status %i → %s', (status, type) => {
    expect(anthropicErrorType(status)).toBe(type);
    expect(toAnthropicErrorBody(status, 'm').error.type).toBe(type);
  });
});
