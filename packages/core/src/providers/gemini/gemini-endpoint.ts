import { InvalidRequestError } from '../../errors.js';
import type { Credential } from '../../keys/credential.js';
import { getProviderInfo } from '../catalogue.js';
import { joinUrl } from '../http-call.js';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents';

/**
 * `gemini-2.5-flash` and `models/gemini-2.5-flash` name the same model. The name becomes part
 * of the URL path, so anything but a plain model id is refused rather than escaped.
 */
export function normaliseGeminiModel(model: string, provider = 'gemini'): string {
  const name = model.startsWith('models/') ? model.slice('models/'.length) : model;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new InvalidRequestError(`"${model.slice(0, 64)}" is not a Gemini model name`, { provider });
  }
  return name;
}

/**
 * The URL of one method for one model. The API root comes from the credential's `baseURL` (the
 * engine's option is merged into it), else the catalogue's default. A root that already ends with
 * its API version (`…/v1beta`, as other SDKs configure it) is used as is.
 *
 * The key never goes into the URL (`?key=`), though Google accepts it there: URLs end up in
 * access logs, proxy logs, traces and error messages (Google's own errors quote them), so the key
 * travels only in the `x-goog-api-key` header.
 * https://ai.google.dev/api#api-keys
 */
export function geminiUrl(
  credential: Credential,
  provider: string,
  model: string,
  method: GeminiMethod,
): string {
  const base =
    credential.fields.baseURL ?? getProviderInfo(provider)?.defaultBaseURL ?? GEMINI_DEFAULT_BASE_URL;
  const root = /\/v1(alpha|beta)?\d*\/*$/.test(base) ? base : joinUrl(base, 'v1beta');
  const url = joinUrl(root, `models/${normaliseGeminiModel(model, provider)}:${method}`);
  // Server-sent events instead of the default JSON array: https://ai.google.dev/api#rest-streaming
  return method === 'streamGenerateContent' ? `${url}?alt=sse` : url;
}
