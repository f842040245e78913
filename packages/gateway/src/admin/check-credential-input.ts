import { checkCredential, getProviderInfo, type ProviderInfo, toCredential } from '@keyhold/core';
import type { SsrfPolicy } from '../egress/ssrf-policy.js';
import type { CredentialPurpose } from '../store/schema.js';
import { badRequest } from './admin-error.js';
import type { CredentialBody } from './credential-schemas.js';

/** A submitted credential that passed every check, split into what is encrypted and what is not. */
export interface CheckedCredential {
  provider: string;
  purpose: CredentialPurpose;
  secrets: Record<string, string>;
  fields: Record<string, string>;
}

/**
 * Checks a submitted credential against the provider catalogue and the egress policy; throws a
 * 400 naming the field at fault: `provider` (unknown), a field the provider does not take, a
 * missing required field (Azure's endpoint, apiVersion, deployment; vLLM's baseURL; Bedrock's
 * region and a key), a malformed one, or an endpoint the SSRF policy refuses.
 */
export function checkCredentialInput(
  provider: string,
  body: CredentialBody,
  policy: SsrfPolicy,
): CheckedCredential {
  const info = getProviderInfo(provider);
  if (!info) throw badRequest('provider', 'Unknown provider: GET /api/v1/providers lists the supported ones');
  const { purpose = 'any', ...values } = body;
  const known = new Map(info.credentialFields.map((f) => [f.name, f]));
  for (const name of Object.keys(values)) {
    if (!known.has(name)) throw badRequest(name, `${info.name} credentials have no field "${name}"`);
  }
  if (purpose !== 'any' && !info.operations.includes(purpose)) {
    throw badRequest('purpose', `${info.name} does not serve ${purpose} requests`);
  }
  for (const field of info.credentialFields) {
    const value = values[field.name];
    if (field.kind !== 'url' || value === undefined) continue;
    const verdict = policy.checkUrl(value);
    if (!verdict.ok) throw badRequest(field.name, `Field "${field.name}" is refused: ${verdict.message}`);
  }
  const check = checkCredential(toCredential(provider, definedOnly(values)));
  if (!check.ok) {
    throw badRequest(
      check.field,
      check.reason === 'missing'
        ? `Missing field "${check.field}" (${info.name} needs it)`
        : `Field "${check.field}" is not valid for ${info.name}`,
    );
  }
  return { provider, purpose, ...split(info, values) };
}

function split(
  info: ProviderInfo,
  values: Record<string, string | undefined>,
): { secrets: Record<string, string>; fields: Record<string, string> } {
  const secrets: Record<string, string> = {};
  const fields: Record<string, string> = {};
  for (const field of info.credentialFields) {
    const value = values[field.name];
    if (value === undefined || value === '') continue;
    (field.secret ? secrets : fields)[field.name] = value;
  }
  if (Object.keys(secrets).length === 0) {
    const first = info.credentialFields.find((f) => f.secret)?.name ?? 'apiKey';
    throw badRequest(first, `A stored credential needs a secret: give "${first}"`);
  }
  return { secrets, fields };
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}
