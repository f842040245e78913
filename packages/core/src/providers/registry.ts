import { InvalidRequestError } from '../errors.js';
import type { ProviderAdapter } from './adapter.js';
import { createAnthropicAdapter } from './anthropic/anthropic-adapter.js';
import { createAzureAdapter } from './azure/azure-adapter.js';
import { createBedrockAdapter } from './bedrock/bedrock-adapter.js';
import { getProviderInfo, type WireFormat } from './catalogue.js';
import { createFakeAdapter } from './fake/fake-adapter.js';
import { createGeminiAdapter } from './gemini/gemini-adapter.js';
import { createOpenAIAdapter } from './openai/openai-adapter.js';

type Factory = (provider: string) => ProviderAdapter;

// One factory per wire format; the OpenAI-compatible presets share the OpenAI one.
// Each adapter adds exactly one import above and one line below.
const factories: Partial<Record<WireFormat, Factory>> = {
  anthropic: createAnthropicAdapter,
  azure: createAzureAdapter,
  bedrock: createBedrockAdapter,
  fake: (provider) => createFakeAdapter({}, provider),
  openai: (provider) => createOpenAIAdapter(provider),
  gemini: createGeminiAdapter,
};

const cache = new Map<string, ProviderAdapter>();

/** The shared, stateless adapter for a catalogue provider. */
export function adapterFor(provider: string): ProviderAdapter {
  const cached = cache.get(provider);
  if (cached) return cached;
  const info = getProviderInfo(provider);
  const factory = info ? factories[info.wireFormat] : undefined;
  if (!info || !factory) {
    throw new InvalidRequestError(`Unknown provider "${provider}"`, { provider });
  }
  const adapter = factory(provider);
  cache.set(provider, adapter);
  return adapter;
}
