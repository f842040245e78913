import { type Credential, type KeyMaterial, toCredential } from './credential.js';

/**
 * A process-wide key store for development and scripts: `runtimeKeys.set('openai', key)` and every
 * engine without a better source uses it.
 *
 * **Not for multi-tenant code.** It holds one key per provider for the whole process; two
 * tenants' requests that set it in turn race, and one tenant's call can go out on the other's key.
 * Pass keys per call (`apiKey`) or give the engine a resolver instead.
 */
class RuntimeKeyStore {
  readonly #keys = new Map<string, Credential>();

  set(provider: string, material: KeyMaterial): void {
    this.#keys.set(provider, toCredential(provider, material));
  }

  get(provider: string): Credential | undefined {
    return this.#keys.get(provider);
  }

  delete(provider: string): void {
    this.#keys.delete(provider);
  }

  clear(): void {
    this.#keys.clear();
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries([...this.#keys.keys()].map((p) => [p, '[key]']));
  }
}

export const runtimeKeys = new RuntimeKeyStore();
