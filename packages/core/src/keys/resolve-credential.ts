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
  return resolveCredentialNow(input);
}

/**
 * `resolveCredential` without a promise when no link needs one: a per-call key (the common case
 * of a BYOK caller), the runtime store, config and environment resolve synchronously; only an
 * engine resolver can make it asynchronous. Throws synchronously when no key is found.
 */
export function resolveCredentialNow(input: ResolveInput): ResolvedCredential | Promise<ResolvedCredential> {
  if (input.callKey !== undefined) {
    return finish(toCredential(input.provider, input.callKey), 'call', input);
  }
  if (input.resolver) {
    const material = runResolver(input.resolver, {
      ...input.context,
      provider: input.provider,
      model: input.model,
      operation: input.operation,
    });
    return material.then((found) =>
      found !== undefined
        ? finish(toCredential(input.provider, found), 'resolver', input)
        : fromFallbacks(input),
    );
  }
  return fromFallbacks(input);
}

/** The links after the engine's resolver: runtime store, config, environment, or no key. */
function fromFallbacks(input: ResolveInput): ResolvedCredential {
  const { provider } = input;
  const found = findFallback(provider);
  if (!found) {
    if (isKeyOptional(provider)) {
      return finish({ provider, secrets: {}, fields: {} }, 'none', input);
    }
    throw new AuthenticationError(`No API key found for provider "${provider}"`, { provider });
  }
  return finish(found.credential, found.source, input);
}

function findFallback(provider: string): ResolvedCredential | undefined {
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
  const merged = withDefaults(credential, input.defaults);
  const check = checkCredential(merged);
  if (!check.ok) {
    throw new AuthenticationError(
      `The ${source === 'none' ? 'configuration' : 'credential'} for provider "${input.provider}" has a ${check.reason} field "${check.field}"`,
      { provider: input.provider },
    );
  }
  return { credential: merged, source };
}

/** The credential with the engine's non-secret defaults under its own fields. */
function withDefaults(credential: Credential, defaults: ResolveInput['defaults']): Credential {
  if (!defaults || isEmpty(defaults)) return credential;
  const fields = isEmpty(credential.fields) ? defaults : Object.freeze({ ...defaults, ...credential.fields });
  return Object.freeze({ provider: credential.provider, secrets: credential.secrets, fields });
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}
