import { isObject } from './parse-result.js';

/**
 * Turns a tool call's `arguments` JSON text into the object Anthropic's `tool_use.input` must
 * be. Empty text (a no-argument call: OpenAI-compatible providers send `""`) is `{}`. Text that
 * is not a JSON object — cut off by `max_tokens`, or a model's malformed output — is also `{}`:
 * Anthropic clients expect an object and cannot use a fragment, and a tool called with `{}`
 * answers with a validation error the model can recover from.
 */
export function toAnthropicToolInput(argumentsText: string): Record<string, unknown> {
  if (argumentsText.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(argumentsText);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
