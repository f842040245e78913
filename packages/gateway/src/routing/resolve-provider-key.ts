import type { Operation } from '@keyhold/core';
import type { Caller } from '../auth/authenticate.js';
import { type Outcome, problem } from '../http/problem.js';
import {
  type Awaitable,
  type CredentialPurpose,
  type CredentialRecord,
  type CredentialRef,
  type Directory,
  whenReady,
} from './directory.js';

/** Which link of the gateway's key chain supplied the provider key (sent as `x-keyhold-key-source`). */
export type KeySource = 'header' | 'user' | 'group' | 'tenant' | 'operator';

/** The chosen key: either the caller's own header key, or a stored credential to open. */
export type KeyChoice =
  | { source: 'header' }
  | { source: Exclude<KeySource, 'header'>; ref: CredentialRef; credentialId: string };

export interface ResolveProviderKeyInput {
  directory: Directory;
  caller: Caller;
  provider: string;
  operation: Operation;
  /** Whether the request carried `X-Provider-API-Key` (its value is not needed to decide). */
  hasHeaderKey: boolean;
}

/**
 * The gateway's key chain (DESIGN.md, "Key resolution"), first hit wins:
 * `X-Provider-API-Key` (when the tenant allows) → the user's credential → a credential of a group
 * the user may use → the tenant's credential → the operator's key (mode `single`; or mode `shared`
 * when the tenant allows fallback and the operation is not mandatory-BYO; never in `dedicated`).
 *
 * A link that holds a credential for the provider decides: if that credential is invalid or
 * revoked the answer is an error, never a fall-through to a key someone else pays for. Within a
 * link a credential for the exact operation wins over an `any` one, and an active credential over
 * a revoked one of the same purpose (a rotated key keeps its old row).
 */
export function resolveProviderKey(input: ResolveProviderKeyInput): Awaitable<Outcome<KeyChoice>> {
  const { directory, caller, provider, operation } = input;
  const { settings } = caller.tenant;
  const mode = directory.mode;

  if (input.hasHeaderKey) {
    if (mode === 'single' || !settings.allowKeyHeader) {
      return refuse(
        403,
        'key_header_not_allowed',
        'This tenant does not allow the X-Provider-API-Key header',
      );
    }
    return HEADER_CHOICE;
  }
  if (mode === 'single') return operatorLink(input);
  return whenReady(directory.listCredentials(caller.tenant.id, provider), (records) => {
    if (records.length > 0) {
      if (caller.user) {
        const decided = decide(records, 'user', caller.user.id, operation);
        if (decided) return decided;
      }
      for (const membership of caller.memberships) {
        if (!membership.useCredentials) continue;
        const decided = decide(records, 'group', membership.groupId, operation);
        if (decided) return decided;
      }
      const decided = decide(records, 'tenant', caller.tenant.id, operation);
      if (decided) return decided;
    }
    return operatorLink(input);
  });
}

const HEADER_CHOICE: Outcome<KeyChoice> = { ok: true, value: { source: 'header' } };

/** The chain's last link: the operator's key, where the mode and the tenant allow it. */
function operatorLink(input: ResolveProviderKeyInput): Awaitable<Outcome<KeyChoice>> {
  const { directory, caller, provider, operation } = input;
  const { settings } = caller.tenant;
  const mode = directory.mode;
  const byo = settings.mandatoryByo?.includes(operation) ?? false;
  const operatorAllowed = mode === 'single' || (mode === 'shared' && settings.allowOperatorFallback && !byo);
  const none = () =>
    refuse(
      401,
      'no_provider_credential',
      byo
        ? `No credential of this tenant for provider "${provider}"; ${operation} calls must use the tenant's own key`
        : `No credential for provider "${provider}" is available to this caller`,
    );
  if (!operatorAllowed || (mode === 'single' && byo)) return none();
  return whenReady(directory.listOperatorKeys(provider), (keys) => {
    const candidates = pickByPurpose(keys, operation);
    if (!candidates) return none();
    const chosen = candidates.find((k) => k.status === 'active');
    if (chosen) {
      return {
        ok: true,
        value: { source: 'operator', ref: { kind: 'operator', id: chosen.id }, credentialId: chosen.id },
      };
    }
    // The operator's key for this call is invalid or revoked: say so, rather than "no key".
    const first = candidates[0]!;
    return refuse(
      401,
      first.status === 'revoked' ? 'provider_credential_revoked' : 'provider_credential_invalid',
      `The operator credential for provider "${first.provider}" is ${first.status}`,
    );
  });
}

/**
 * A link's verdict: undefined when the owner holds nothing for this provider and operation.
 * One pass, no intermediate arrays: this runs on every request.
 */
function decide(
  records: readonly CredentialRecord[],
  source: 'user' | 'group' | 'tenant',
  ownerId: string,
  operation: Operation,
): Outcome<KeyChoice> | undefined {
  let exact: CredentialRecord | undefined;
  let exactActive: CredentialRecord | undefined;
  let any: CredentialRecord | undefined;
  let anyActive: CredentialRecord | undefined;
  for (const r of records) {
    if (r.owner.kind !== source || r.owner.id !== ownerId) continue;
    if (r.purpose === operation) {
      exact ??= r;
      if (exactActive === undefined && r.status === 'active') exactActive = r;
    } else if (r.purpose === 'any') {
      any ??= r;
      if (anyActive === undefined && r.status === 'active') anyActive = r;
    }
  }
  // Credentials for the exact operation, when there are any, decide alone (see pickByPurpose).
  const first = exact ?? any;
  if (first === undefined) return undefined;
  const active = exact !== undefined ? exactActive : anyActive;
  if (active) {
    return {
      ok: true,
      value: { source, ref: { kind: 'credential', id: active.id }, credentialId: active.id },
    };
  }
  return refuse(
    401,
    first.status === 'revoked' ? 'provider_credential_revoked' : 'provider_credential_invalid',
    `The ${source} credential ${first.id} for provider "${first.provider}" is ${first.status}`,
  );
}

/** The records for the exact operation if any, else the `any` ones, else undefined. */
function pickByPurpose<T extends { purpose: CredentialPurpose }>(
  records: readonly T[],
  operation: Operation,
): T[] | undefined {
  const exact = records.filter((r) => r.purpose === operation);
  if (exact.length > 0) return exact;
  const any = records.filter((r) => r.purpose === 'any');
  return any.length > 0 ? any : undefined;
}

function refuse(
  status: number,
  code: string,
  message: string,
): { ok: false; problem: ReturnType<typeof problem> } {
  return { ok: false, problem: problem(status, code, message) };
}
