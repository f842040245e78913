import { InvalidRequestError } from '../errors.js';
import type { ProviderAdapter } from './adapter.js';
import { getProviderInfo, type WireFormat } from './catalogue.js';
import { createFakeAdapter } from './fake/fake-adapter.js';

type Factory = (provider: string) => ProviderAdapter;

// One factory per wire format; the OpenAI-compatible presets share the OpenAI one.
const factories: Partial<Record<WireFormat, Factory>> = {
  fake: (provider) => createFakeAdapter({}, provider),
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
