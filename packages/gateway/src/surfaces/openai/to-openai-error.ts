/** OpenAI's error `type` for a status, as its API uses them. */
function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * An error in OpenAI's shape (https://platform.openai.com/docs/guides/error-codes):
 * `{ "error": { "message", "type", "param", "code" } }`. The message is always Keyhold's own.
 */
export function toOpenAIErrorBody(
  status: number,
  code: string,
  message: string,
  param?: string,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message, type: typeFor(status), param: param ? param : null, code } };
}
