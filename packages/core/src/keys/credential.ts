import { type CredentialField, getProviderInfo } from '../providers/catalogue.js';
import { Secret } from './secret.js';

/**
 * Everything an adapter needs to authenticate one call: secret fields (`apiKey`, or Bedrock's
 * `accessKeyId` / `secretAccessKey` / `sessionToken`) as `Secret`s, and non-secret fields
 * (`baseURL`, Azure's `endpoint` / `apiVersion` / `deployment`, Bedrock's `region`).
 */
export interface Credential {
  readonly provider: string;
  readonly secrets: Readonly<Record<string, Secret>>;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * What a caller or resolver may hand over as a key: a bare key string (the provider's `apiKey`),
 * a `Secret`, an object of named fields for providers that need more than one, or a `Credential`
 * that `toCredential` made (a gateway's credential vault hands those out).
 */
export type KeyMaterial =
  | string
  | Secret
  | Credential
  | Readonly<Record<string, string | Secret | undefined>>;

export type CredentialCheck = { ok: true } | { ok: false; field: string; reason: 'missing' | 'invalid' };

/** Turns key material into a `Credential`, wrapping every secret field in a `Secret`. */
export function toCredential(provider: string, material: KeyMaterial): Credential {
  if (isCredentialShaped(material)) {
    // Already one, for this provider: passed on as it is (it is frozen), not taken apart and
    // rebuilt; one made elsewhere is copied into a frozen one, its secrets as Secrets.
    if (made.has(material) && material.provider === provider) return material;
    const secrets: Record<string, Secret> = {};
    for (const [name, value] of Object.entries(material.secrets)) secrets[name] = Secret.from(value);
    return freeze(provider, secrets, { ...material.fields });
  }
  if (typeof material === 'string' || material instanceof Secret) {
    return freeze(provider, { apiKey: Secret.from(material) }, NO_FIELDS);
  }
  const info = getProviderInfo(provider);
  const secretNames = secretNamesOf(provider);
  const secrets: Record<string, Secret> = {};
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(
    material as Readonly<Record<string, string | Secret | undefined>>,
  )) {
    if (value === undefined || value === '') continue;
    if (value instanceof Secret || secretNames.has(name) || (!info && name === 'apiKey')) {
      secrets[name] = Secret.from(value);
    } else {
      fields[name] = value;
    }
  }
  return freeze(provider, secrets, fields);
}

const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

// A key is turned into a credential on every call, so the catalogue lookups it needs are memoised.
const secretNamesByProvider = new Map<string, ReadonlySet<string>>();

function secretNamesOf(provider: string): ReadonlySet<string> {
  let names = secretNamesByProvider.get(provider);
  if (!names) {
    const fields = getProviderInfo(provider)?.credentialFields ?? [];
    names = new Set(fields.filter((f) => f.secret).map((f) => f.name));
    secretNamesByProvider.set(provider, names);
  }
  return names;
}

/** A `Credential` (rather than a record of fields): `secrets` and `fields` are objects. */
function isCredentialShaped(material: KeyMaterial): material is Credential {
  if (typeof material !== 'object' || material instanceof Secret) return false;
  const { secrets, fields } = material as Partial<Credential>;
  return typeof secrets === 'object' && secrets !== null && typeof fields === 'object' && fields !== null;
}

/** The credentials `toCredential` made: the only objects it passes on as they are. */
const made = new WeakSet<Credential>();

function freeze(
  provider: string,
  secrets: Record<string, Secret>,
  fields: Record<string, string>,
): Credential {
  const credential = Object.freeze({
    provider,
    secrets: Object.freeze(secrets),
    fields: Object.freeze(fields),
  });
  made.add(credential);
  return credential;
}

/**
 * Checks a credential against the provider catalogue: required fields present, non-secret fields
 * well-formed. Returns the first failing field so an error can name it.
 */
export function checkCredential(credential: Credential): CredentialCheck {
  const info = getProviderInfo(credential.provider);
  if (!info) return { ok: true };
  const has = (name: string) =>
    credential.secrets[name] !== undefined || credential.fields[name] !== undefined;
  if (info.credentialAlternatives) {
    const complete = info.credentialAlternatives.some((group) => group.every(has));
    if (!complete) {
      const closest = info.credentialAlternatives.find((g) => g.some(has)) ?? info.credentialAlternatives[0]!;
      return { ok: false, field: closest.find((f) => !has(f))!, reason: 'missing' };
    }
  }
  for (const field of info.credentialFields) {
    if (field.required && !has(field.name)) return { ok: false, field: field.name, reason: 'missing' };
    const value = credential.fields[field.name];
    if (value !== undefined && !isWellFormed(field, value))
      return { ok: false, field: field.name, reason: 'invalid' };
  }
  return { ok: true };
}

// Field values repeat (an engine's base URL, a tenant's Azure endpoint), so each (field, value)
// verdict is kept; the cache is bounded because values can come from callers.
const verdicts = new WeakMap<CredentialField, Map<string, boolean>>();

function isWellFormed(field: CredentialField, value: string): boolean {
  let known = verdicts.get(field);
  if (!known) {
    known = new Map();
    verdicts.set(field, known);
  }
  let verdict = known.get(value);
  if (verdict === undefined) {
    verdict = checkField(field, value);
    if (known.size >= 1000) known.clear();
    known.set(value, verdict);
  }
  return verdict;
}

function checkField(field: CredentialField, value: string): boolean {
  if (field.pattern && !new RegExp(field.pattern).test(value)) return false;
  if (field.kind === 'url') {
    try {
      const url = new URL(value);
      return (
        (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === ''
      );
    } catch {
      return false;
    }
  }
  return true;
}

/** True when the provider can be called without any secret (e.g. a local Ollama). */
export function isKeyOptional(provider: string): boolean {
  const info = getProviderInfo(provider);
  if (!info) return false;
  return !info.credentialFields.some((f) => f.secret && f.required) && !info.credentialAlternatives;
}
