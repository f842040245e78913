/** An Anthropic error body: `{ type: 'error', error: { type, message } }`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/**
 * The `error.type` Anthropic uses for each HTTP status
 * (https://docs.claude.com/en/api/errors, and `ErrorType` in `@anthropic-ai/sdk`
 * `resources/shared.d.ts`). Anthropic documents that `invalid_request_error` may also stand for
 * 4XX statuses not listed, so any other 4xx gets it; any other 5xx gets `api_error`.
 */
const ERROR_TYPES: ReadonlyMap<number, string> = new Map([
  [400, 'invalid_request_error'],
  [401, 'authentication_error'],
  [402, 'billing_error'],
  [403, 'permission_error'],
  [404, 'not_found_error'],
  [409, 'conflict_error'],
  [413, 'request_too_large'],
  [429, 'rate_limit_error'],
  [500, 'api_error'],
  // A bad upstream answer is an internal failure from the client's point of view.
  [502, 'api_error'],
  // No capacity upstream (provider down, circuit open): the client should back off and retry,
  // which is what Anthropic's 529 overloaded_error asks for.
  [503, 'overloaded_error'],
  // Anthropic's gateway-timeout type (GatewayTimeoutError in the SDK).
  [504, 'timeout_error'],
  [529, 'overloaded_error'],
]);

/** The Anthropic `error.type` for an HTTP status. */
export function anthropicErrorType(status: number): string {
  const known = ERROR_TYPES.get(status);
  if (known !== undefined) return known;
  return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
}

/**
 * Builds the body of an Anthropic-format error response. `message` must be Keyhold's own words,
 * never a provider's body (providers echo key fragments).
 *
 * @example
 * reply.status(404).send(toAnthropicErrorBody(404, 'Unknown model "foo/bar".'));
 * // { type: 'error', error: { type: 'not_found_error', message: 'Unknown model "foo/bar".' } }
 */
export function toAnthropicErrorBody(status: number, message: string): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(status), message } };
}
