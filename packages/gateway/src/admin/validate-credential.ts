import {
  createEngine,
  generate,
  isKeyholdError,
  type KeyMaterial,
  Secret,
  type Transport,
} from '@keyhold/core';
import { badRequest } from './admin-error.js';
import type { CheckedCredential } from './check-credential-input.js';

export type ValidationOutcome =
  | { result: 'valid' }
  | { result: 'invalid'; code: string }
  | { result: 'unverified'; code: string };

// Small, cheap models for the check when the request names none. Providers missing here (vLLM,
// custom servers, Bedrock, …) serve whatever their operator deployed: the caller names a model.
const VALIDATION_MODELS: Readonly<Record<string, string>> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-3-5-haiku-latest',
  gemini: 'gemini-2.0-flash',
  mistral: 'mistral-small-latest',
  groq: 'llama-3.1-8b-instant',
  deepseek: 'deepseek-chat',
  xai: 'grok-3-mini',
  // The offline demo provider accepts any key; checking it costs nothing.
  fake: 'echo-1',
};

/** The model a check of this provider's key uses when nobody names one; undefined: no guess. */
export function defaultValidationModel(
  provider: string,
  fields: Readonly<Record<string, string>>,
): string | undefined {
  return provider === 'azure' ? fields.deployment : VALIDATION_MODELS[provider];
}

/** The model a validation call uses; throws a 400 naming `model` when there is none to guess. */
export function validationModel(credential: CheckedCredential, requested: string | undefined): string {
  const model = requested ?? defaultValidationModel(credential.provider, credential.fields);
  if (model === undefined) {
    throw badRequest('model', 'Name the model to validate with: ?validate=true&model=<model>');
  }
  return model;
}

/**
 * Checks a key with the cheapest real call there is: one chat completion of at most one output
 * token, no retries. A refusal of the key (401 / 403) makes it `invalid`; success `valid`; any
 * other failure (unreachable, 5xx, unknown model) proves nothing about the key: `unverified`.
 */
export async function validateCredential(
  credential: CheckedCredential,
  options: ValidationCallOptions,
): Promise<ValidationOutcome> {
  const material: Record<string, string | Secret> = { ...credential.fields };
  for (const [name, value] of Object.entries(credential.secrets)) material[name] = Secret.from(value);
  return checkProviderKey(credential.provider, material, options);
}

export interface ValidationCallOptions {
  model: string;
  transport: Transport;
  timeoutMs: number;
}

/**
 * The check itself, for key material already at hand (a submitted credential, or a stored one
 * the vault just opened). Only the error's code is kept: a provider's error message can quote
 * the key it refused.
 */
export async function checkProviderKey(
  provider: string,
  material: KeyMaterial,
  options: ValidationCallOptions,
): Promise<ValidationOutcome> {
  const engine = createEngine({ provider, model: options.model });
  try {
    await generate(
      engine,
      { messages: [{ role: 'user', content: 'ping' }], maxTokens: 1 },
      { apiKey: material, transport: options.transport, maxRetries: 0, timeoutMs: options.timeoutMs },
    );
    return { result: 'valid' };
  } catch (error) {
    const code = isKeyholdError(error) ? error.code : 'transport_error';
    return code === 'authentication_error' || code === 'permission_error'
      ? { result: 'invalid', code }
      : { result: 'unverified', code };
  }
}
