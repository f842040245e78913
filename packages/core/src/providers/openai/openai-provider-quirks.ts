/**
 * Where the providers that speak OpenAI's Chat Completions wire differ on the request side, in one
 * place. Everything not listed here is sent the same way to every provider.
 */
export interface OpenAIRequestQuirks {
  /**
   * OpenAI's reasoning models reject `max_tokens` ("Unsupported parameter: 'max_tokens' … Use
   * 'max_completion_tokens' instead"), so OpenAI itself gets `max_completion_tokens`. Most of the
   * compatible family knows only `max_tokens`, and Mistral rejects the other spelling (422
   * `extra_forbidden`).
   */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /**
   * Whether to send `stream_options: { include_usage: true }`, without which OpenAI sends no usage
   * on a stream. Mistral rejects the field (422 `extra_forbidden`) and sends usage on its finish
   * chunk anyway; Perplexity reports usage on its chunks unasked.
   */
  streamUsageOption: boolean;
  /** Mistral spells the sampling seed `random_seed`. https://docs.mistral.ai/api/#tag/chat */
  seedField: 'seed' | 'random_seed';
  /** Whether the end-user id goes out as `user` (Mistral forbids unknown fields, `user` among them). */
  sendsUser: boolean;
  /** Whether a user message may carry `name` (Mistral forbids it). */
  sendsMessageName: boolean;
  /** Mistral's embeddings call the output size `output_dimension`. */
  dimensionsField: 'dimensions' | 'output_dimension';
}

const DEFAULT: OpenAIRequestQuirks = {
  maxTokensField: 'max_tokens',
  streamUsageOption: true,
  seedField: 'seed',
  sendsUser: true,
  sendsMessageName: true,
  dimensionsField: 'dimensions',
};

const BY_PROVIDER: Readonly<Record<string, Partial<OpenAIRequestQuirks>>> = {
  openai: { maxTokensField: 'max_completion_tokens' },
  azure: { maxTokensField: 'max_completion_tokens' },
  mistral: {
    streamUsageOption: false,
    seedField: 'random_seed',
    sendsUser: false,
    sendsMessageName: false,
    dimensionsField: 'output_dimension',
  },
  perplexity: { streamUsageOption: false },
};

/**
 * Azure's dated API versions reject arguments they do not know ("Unrecognized request argument
 * supplied"): `stream_options` arrived with 2024-07-01-preview and `max_completion_tokens` with
 * 2024-09-01-preview (both are in the 2024-10-21 GA). Older versions get what they understand.
 * https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 */
function azureQuirks(apiVersion: string | undefined): Partial<OpenAIRequestQuirks> {
  const date = /^\d{4}-\d{2}-\d{2}/.exec(apiVersion ?? '')?.[0];
  if (!date) return {};
  return {
    ...(date < '2024-07-01' ? { streamUsageOption: false } : {}),
    ...(date < '2024-09-01' ? { maxTokensField: 'max_tokens' as const } : {}),
  };
}

// Per-call work on the hot path stays a map lookup. Only Azure's depend on the credential (its API
// version: a handful of values, bounded all the same).
const cache = new Map<string, OpenAIRequestQuirks>();
const MAX_CACHED = 128;

/**
 * The request quirks of one provider. `fields` are the credential's non-secret fields (Azure's
 * `apiVersion` decides what its endpoint accepts).
 */
export function quirksOf(
  provider: string,
  fields: Readonly<Record<string, string>> = {},
): OpenAIRequestQuirks {
  const key = provider === 'azure' ? `azure ${fields.apiVersion ?? ''}` : provider;
  let quirks = cache.get(key);
  if (!quirks) {
    quirks = Object.freeze(
      provider === 'azure'
        ? { ...DEFAULT, ...BY_PROVIDER.azure, ...azureQuirks(fields.apiVersion) }
        : { ...DEFAULT, ...BY_PROVIDER[provider] },
    );
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, quirks);
  }
  return quirks;
}
