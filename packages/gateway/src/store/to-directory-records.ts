import type { Operation } from '@keyhold/core';
import type {
  AlertWebhookSettings,
  BudgetSettings,
  CredentialRecord,
  OperatorKeyRecord,
  ParameterSettings,
  RateLimitSettings,
  Tenant,
  TenantLimitSettings,
  TenantSettings,
  VirtualKeyRecord,
} from '../routing/directory.js';
import { openWebhookSecret } from '../vault/alert-webhook-secret.js';
import type { Keyring } from '../vault/keyring.js';
import type { CredentialMetadata } from './credentials.js';
import type {
  AlertWebhookRow,
  TenantSettings as StoredTenantSettings,
  TenantRow,
  VirtualKeyRow,
} from './schema.js';

/*
 * Pure mappings from store rows to the gateway's directory records. The store keeps what the
 * admin API writes; the directory speaks the request path's language. Absent settings take the
 * safe side: no key header, no operator fallback.
 */

/** A tenant row as the gateway's `Tenant`, with its alert webhook when it has one. */
export function toDirectoryTenant(row: TenantRow, alertWebhook?: AlertWebhookSettings): Tenant {
  const settings = toTenantSettings(row.settings ?? {});
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    settings: alertWebhook ? { ...settings, alertWebhook } : settings,
  };
}

/**
 * A stored webhook as the directory's settings. The secret is a function over the sealed blob:
 * each call decrypts (microseconds), so nothing but ciphertext lives in caches.
 */
export function toAlertWebhookSettings(
  row: Pick<AlertWebhookRow, 'tenantId' | 'url' | 'ciphertext'>,
  keyring: Keyring,
): AlertWebhookSettings {
  const { tenantId, ciphertext } = row;
  return { url: row.url, secret: () => openWebhookSecret(keyring, tenantId, ciphertext) };
}

export function toTenantSettings(stored: StoredTenantSettings): TenantSettings {
  const defaults = toParameters(stored.defaultParameters);
  const caps = toParameters(stored.parameterCaps);
  const limits = toTenantLimits(stored.limits);
  const budgets = toBudgets(stored.budgets);
  const mandatoryByo = (stored.mandatoryByo ?? []).filter(
    (op): op is Operation => op === 'chat' || op === 'embedding',
  );
  return {
    allowKeyHeader: stored.allowRequestKeyHeader === true,
    allowOperatorFallback: stored.allowOperatorFallback === true,
    ...(typeof stored.defaultModel === 'string' && stored.defaultModel !== ''
      ? { defaultModel: stored.defaultModel }
      : {}),
    ...(defaults ? { defaults } : {}),
    ...(caps ? { caps } : {}),
    ...(Array.isArray(stored.allowedModels)
      ? { allowedModels: stored.allowedModels.filter((m) => typeof m === 'string') }
      : {}),
    ...(mandatoryByo.length > 0 ? { mandatoryByo } : {}),
    ...(limits ? { limits } : {}),
    ...(budgets.length > 0 ? { budgets } : {}),
  };
}

/** `maxTokens` / `max_tokens` and `temperature` out of a free-form parameter object. */
function toParameters(value: Record<string, unknown> | undefined): ParameterSettings | undefined {
  if (!value) return undefined;
  const maxTokens = value.maxTokens ?? value.max_tokens;
  const { temperature } = value;
  const out: ParameterSettings = {
    ...(isPositiveInteger(maxTokens) ? { maxTokens } : {}),
    ...(typeof temperature === 'number' && Number.isFinite(temperature) ? { temperature } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

function toRateLimits(value: unknown): RateLimitSettings | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const out: RateLimitSettings = {
    ...(isPositiveInteger(v.requestsPerMinute) ? { requestsPerMinute: v.requestsPerMinute } : {}),
    ...(isPositiveInteger(v.tokensPerMinute) ? { tokensPerMinute: v.tokensPerMinute } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

function toTenantLimits(value: unknown): TenantLimitSettings | undefined {
  const own = toRateLimits(value);
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const perUser = toRateLimits(v.perUser);
  const perKey = toRateLimits(v.perKey);
  const keys: Record<string, RateLimitSettings> = {};
  if (typeof v.keys === 'object' && v.keys !== null) {
    for (const [id, limits] of Object.entries(v.keys)) {
      const parsed = toRateLimits(limits);
      if (parsed) keys[id] = parsed;
    }
  }
  const out: TenantLimitSettings = {
    ...own,
    ...(perUser ? { perUser } : {}),
    ...(perKey ? { perKey } : {}),
    ...(Object.keys(keys).length > 0 ? { keys } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

function toBudgets(value: unknown): BudgetSettings[] {
  if (!Array.isArray(value)) return [];
  const scopes = new Set(['tenant', 'group', 'user', 'key']);
  const out: BudgetSettings[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) continue;
    const b = item as Record<string, unknown>;
    if (typeof b.id !== 'string' || typeof b.scope !== 'string' || !scopes.has(b.scope)) continue;
    if (b.period !== 'day' && b.period !== 'month') continue;
    if (typeof b.limitMicros !== 'number' || !Number.isInteger(b.limitMicros) || b.limitMicros < 0) continue;
    out.push({
      id: b.id,
      scope: b.scope as BudgetSettings['scope'],
      ...(typeof b.scopeId === 'string' ? { scopeId: b.scopeId } : {}),
      period: b.period,
      limitMicros: b.limitMicros,
      mode: b.mode === 'soft' ? 'soft' : 'hard',
    });
  }
  return out;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** A virtual key row as the gateway's record (the hash column is `keyHash` in the store). */
export function toVirtualKeyRecord(row: VirtualKeyRow): VirtualKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    ...(row.userId ? { userId: row.userId } : {}),
    hash: row.keyHash,
    prefix: row.prefix,
    hint: row.hint,
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    ...(row.revokedAt ? { revokedAt: row.revokedAt } : {}),
  };
}

/** A tenant, group or user credential (never an operator one) as the gateway's record. */
export function toCredentialRecord(row: CredentialMetadata): CredentialRecord {
  if (row.ownerKind === 'operator' || row.tenantId === null) {
    throw new TypeError('An operator credential is not a tenant credential record');
  }
  return {
    id: row.id,
    tenantId: row.tenantId,
    owner: { kind: row.ownerKind, id: row.ownerId },
    provider: row.provider,
    purpose: row.purpose,
    status: row.status,
    hint: row.hint,
    fields: row.fields ?? {},
  };
}

export function toOperatorKeyRecord(row: CredentialMetadata): OperatorKeyRecord {
  return {
    id: row.id,
    provider: row.provider,
    purpose: row.purpose,
    status: row.status,
    hint: row.hint,
    fields: row.fields ?? {},
  };
}
