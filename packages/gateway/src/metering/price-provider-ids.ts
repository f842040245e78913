/**
 * Keyhold provider ids (packages/core/src/providers/catalogue.ts) mapped to the provider ids of
 * the `@pydantic/genai-prices` catalogue.
 *
 * The mapping is explicit rather than left to the package's fuzzy provider matching, so a
 * provider we do not list can never be priced by accident as some other provider. Providers whose
 * models run on hardware the tenant pays for itself (vLLM, Ollama, custom OpenAI-compatible
 * servers) or that the catalogue does not cover are unpriced unless the operator configures an
 * override.
 */
const CATALOGUE_PROVIDER: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  // Azure deployments are priced like the model they serve; the catalogue's `azure` entry falls
  // back to OpenAI's models. A deployment whose name is not a model name needs an override.
  azure: 'azure',
  bedrock: 'aws',
  mistral: 'mistral',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'x-ai',
  together: 'together',
  fireworks: 'fireworks',
  openrouter: 'openrouter',
  perplexity: 'perplexity',
  ovhcloud: 'ovhcloud',
};

/** Keyhold providers deliberately left unpriced (overrides can still price them). */
export const UNPRICED_PROVIDERS: readonly string[] = [
  'berget',
  'vllm',
  'ollama',
  'openai-compatible',
  'fake',
];

/** The catalogue's provider id for a Keyhold provider id, or undefined when it has none. */
export function toCatalogueProvider(provider: string): string | undefined {
  return Object.hasOwn(CATALOGUE_PROVIDER, provider) ? CATALOGUE_PROVIDER[provider] : undefined;
}
