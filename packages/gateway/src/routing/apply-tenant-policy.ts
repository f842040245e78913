import type { ChatInput } from '@keyhold/core';
import type { TenantSettings } from './directory.js';

/**
 * Applies a tenant's parameter policy to a chat request: `defaults` fill what the request left
 * unset, `caps` bound what it set (a request above a cap is lowered to it, as the tenant asked).
 * Returns a new input; the caller's object is not changed.
 */
export function applyTenantPolicy(input: ChatInput, settings: TenantSettings): ChatInput {
  const { defaults, caps } = settings;
  if (!defaults && !caps) return input;
  let maxTokens = input.maxTokens ?? defaults?.maxTokens;
  let temperature = input.temperature ?? defaults?.temperature;
  if (caps?.maxTokens !== undefined) maxTokens = Math.min(maxTokens ?? caps.maxTokens, caps.maxTokens);
  if (caps?.temperature !== undefined && temperature !== undefined) {
    temperature = Math.min(temperature, caps.temperature);
  }
  // Copied, then assigned: not `{ ...input, maxTokens }` (test/hot-path-literals.test.ts).
  const applied: ChatInput = Object.assign({}, input);
  if (maxTokens !== undefined) applied.maxTokens = maxTokens;
  if (temperature !== undefined) applied.temperature = temperature;
  return applied;
}
