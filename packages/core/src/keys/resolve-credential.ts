import { AuthenticationError } from '../errors.js';
import { getProviderInfo, type Operation } from '../providers/catalogue.js';
import { configuredCredential, configuredEnv } from './config.js';
import {
  type Credential,
  checkCredential,
  isKeyOptional,
  type KeyMaterial,
  toCredential,
} from './credential.js';
import { type KeyResolver, runResolver } from './resolver.js';
import { runtimeKeys } from './runtime-store.js';

/** Which link of the chain supplied the key. */
export type KeySource = 'call' | 'resolver' | 'runtime' | 'config' | 'env' | 'none';

export interface ResolveInput {
  provider: string;
  model: string;
  operation: Operation;
  callKey?: KeyMaterial;
  resolver?: KeyResolver;
  /** Non-secret defaults from the engine (base URL, region, …); the credential's own fields win. */
  defaults?: Readonly<Record<string, string>>;
  context?: Readonly<Record<string, unknown>>;
}

export interface ResolvedCredential {
  credential: Credential;
  source: KeySource;
}

/**
 * The library's key chain (DESIGN.md, "Key resolution"), first hit wins:
 * per-call key → engine resolver → runtime store → config → provider environment variables.
 * No key → `AuthenticationError` naming the provider, before any network call. A key that is
 * found but incomplete (e.g. Azure without a deployment) is an error, not a fall-through.
 */
export async function resolveCredential(input: ResolveInput): Promise<ResolvedCredential> {
  const { provider } = input;
  const found = await findCredential(input);
  if (!found) {
    if (isKeyOptional(provider)) {
      return finish({ provider, secrets: {}, fields: {} }, 'none', input);
    }
    throw new AuthenticationError(`No API key found for provider "${provider}"`, { provider });
  }
  return finish(found.credential, found.source, input);
}

async function findCredential(input: ResolveInput): Promise<ResolvedCredential | undefined> {
  const { provider } = input;
  if (input.callKey !== undefined)
    return { credential: toCredential(provider, input.callKey), source: 'call' };
  if (input.resolver) {
    const material = await runResolver(input.resolver, {
      ...input.context,
      provider,
      model: input.model,
      operation: input.operation,
    });
    if (material !== undefined) return { credential: toCredential(provider, material), source: 'resolver' };
  }
  const runtime = runtimeKeys.get(provider);
  if (runtime) return { credential: runtime, source: 'runtime' };
  const configured = configuredCredential(provider);
  if (configured) return { credential: configured, source: 'config' };
  const fromEnv = credentialFromEnv(provider);
  if (fromEnv) return { credential: fromEnv, source: 'env' };
  return undefined;
}

function credentialFromEnv(provider: string): Credential | undefined {
  const info = getProviderInfo(provider);
  if (!info) return undefined;
  const env = configuredEnv();
  const material: Record<string, string> = {};
  for (const field of info.credentialFields) {
    const value = field.env?.map((name) => env[name]).find((v) => v !== undefined && v !== '');
    if (value !== undefined) material[field.name] = value;
  }
  const hasSecret = info.credentialFields.some((f) => f.secret && material[f.name] !== undefined);
  return hasSecret ? toCredential(provider, material) : undefined;
}

function finish(credential: Credential, source: KeySource, input: ResolveInput): ResolvedCredential {
  const merged: Credential = Object.freeze({
    provider: credential.provider,
    secrets: credential.secrets,
    fields: Object.freeze({ ...input.defaults, ...credential.fields }),
  });
  const check = checkCredential(merged);
  if (!check.ok) {
    throw new AuthenticationError(
      `The ${source === 'none' ? 'configuration' : 'credential'} for provider "${input.provider}" has a ${check.reason} field "${check.field}"`,
      { provider: input.provider },
    );
  }
  return { credential: merged, source };
}
