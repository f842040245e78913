import { type Credential, getProviderInfo, NotFoundError, Secret, toCredential } from '@keyhold/core';
import type { GatewayConfig, SecretValue } from './config-schema.js';
import type {
  BudgetSettings,
  CredentialRecord,
  CredentialRef,
  DeploymentMode,
  Directory,
  Membership,
  OperatorKeyRecord,
  RateLimitSettings,
  Tenant,
  TenantSettings,
  User,
  VirtualKeyRecord,
} from './directory.js';

export interface ConfigDirectoryOptions {
  /** Where `{ env: 'VAR' }` secrets are read; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export type ConfigDirectoryResult = { ok: true; directory: Directory } | { ok: false; errors: string[] };

interface StoredSecrets {
  provider: string;
  secrets: Readonly<Record<string, SecretValue>>;
  fields: Readonly<Record<string, string>>;
}

/**
 * A directory over a validated configuration file: everything is held in memory, secrets are
 * read from the environment (or inline, for development) each time a credential is opened.
 * Cross-references (owners, members, providers, environment variables) are checked up front, so a
 * bad file fails at start-up with every problem listed, not at the first request.
 */
export function createConfigDirectory(
  config: GatewayConfig,
  options: ConfigDirectoryOptions = {},
): ConfigDirectoryResult {
  const env = options.env ?? process.env;
  const errors: string[] = [];
  const mode: DeploymentMode = config.mode ?? 'shared';

  const tenants = new Map<string, Tenant>();
  const users = new Map<string, User>();
  const memberships = new Map<string, Membership[]>();
  const keys = new Map<string, VirtualKeyRecord>();
  const credentials = new Map<string, CredentialRecord[]>();
  const operatorKeys = new Map<string, OperatorKeyRecord[]>();
  const secrets = new Map<string, StoredSecrets>();

  const checkSecrets = (where: string, provider: string, values: Record<string, SecretValue> = {}) => {
    if (!getProviderInfo(provider)) errors.push(`${where}: unknown provider "${provider}"`);
    for (const [name, value] of Object.entries(values)) {
      if (typeof value !== 'string' && !env[value.env]) {
        errors.push(`${where}: secret "${name}" reads environment variable ${value.env}, which is not set`);
      }
    }
  };

  for (const [i, op] of (config.operatorKeys ?? []).entries()) {
    const where = `operatorKeys[${i}] (${op.id})`;
    checkSecrets(where, op.provider, op.secrets);
    if (secrets.has(`operator:${op.id}`)) errors.push(`${where}: duplicate id`);
    secrets.set(`operator:${op.id}`, {
      provider: op.provider,
      secrets: op.secrets ?? {},
      fields: op.fields ?? {},
    });
    const record: OperatorKeyRecord = {
      id: op.id,
      provider: op.provider,
      purpose: op.purpose ?? 'any',
      status: op.status ?? 'active',
      hint: hintOfSecrets(op.secrets, env),
      fields: op.fields ?? {},
    };
    push(operatorKeys, op.provider, record);
  }

  for (const [ti, t] of (config.tenants ?? []).entries()) {
    const where = `tenants[${ti}] (${t.id})`;
    if (tenants.has(t.id)) errors.push(`${where}: duplicate tenant id`);
    const s = t.settings ?? {};
    const settings: TenantSettings = {
      allowKeyHeader: s.allowKeyHeader ?? false,
      allowOperatorFallback: s.allowOperatorFallback ?? false,
      ...(s.defaultModel ? { defaultModel: s.defaultModel } : {}),
      ...(s.defaults ? { defaults: s.defaults } : {}),
      ...(s.caps ? { caps: s.caps } : {}),
      ...(s.allowedModels ? { allowedModels: s.allowedModels } : {}),
      ...(s.mandatoryByo ? { mandatoryByo: s.mandatoryByo } : {}),
    };
    tenants.set(t.id, { id: t.id, name: t.name ?? t.id, status: t.status ?? 'active', settings });
    for (const u of t.users ?? []) {
      users.set(`${t.id}\u0000${u.id}`, {
        id: u.id,
        tenantId: t.id,
        status: u.status ?? 'active',
        ...(u.limits ? { limits: u.limits } : {}),
      });
    }
    const groupIds = new Set<string>();
    for (const g of t.groups ?? []) {
      groupIds.add(g.id);
      for (const m of g.members ?? []) {
        if (!users.has(`${t.id}\u0000${m.userId}`))
          errors.push(`${where}: group ${g.id} names unknown user ${m.userId}`);
        push(memberships, `${t.id}\u0000${m.userId}`, {
          groupId: g.id,
          userId: m.userId,
          useCredentials: m.useCredentials ?? true,
        });
      }
    }
    for (const [ci, c] of (t.credentials ?? []).entries()) {
      const cwhere = `${where}.credentials[${ci}] (${c.id})`;
      checkSecrets(cwhere, c.provider, c.secrets);
      const kind = c.owner?.kind ?? 'tenant';
      const ownerId = kind === 'tenant' ? t.id : c.owner?.id;
      if (!ownerId) errors.push(`${cwhere}: owner.id is required for a ${kind} credential`);
      else if (kind === 'user' && !users.has(`${t.id}\u0000${ownerId}`))
        errors.push(`${cwhere}: unknown user ${ownerId}`);
      else if (kind === 'group' && !groupIds.has(ownerId)) errors.push(`${cwhere}: unknown group ${ownerId}`);
      if (secrets.has(`credential:${c.id}`)) errors.push(`${cwhere}: duplicate credential id`);
      secrets.set(`credential:${c.id}`, {
        provider: c.provider,
        secrets: c.secrets ?? {},
        fields: c.fields ?? {},
      });
      push(credentials, `${t.id}\u0000${c.provider}`, {
        id: c.id,
        tenantId: t.id,
        owner: { kind, id: ownerId ?? '' } as CredentialRecord['owner'],
        provider: c.provider,
        purpose: c.purpose ?? 'any',
        status: c.status ?? 'active',
        hint: hintOfSecrets(c.secrets, env),
        fields: c.fields ?? {},
      });
    }
    for (const [ki, k] of (t.virtualKeys ?? []).entries()) {
      const kwhere = `${where}.virtualKeys[${ki}] (${k.id})`;
      if (k.userId && !users.has(`${t.id}\u0000${k.userId}`))
        errors.push(`${kwhere}: unknown user ${k.userId}`);
      if (keys.has(k.hash)) errors.push(`${kwhere}: duplicate hash`);
      const expiresAt = parseDate(k.expiresAt, `${kwhere}.expiresAt`, errors);
      const revokedAt = parseDate(k.revokedAt, `${kwhere}.revokedAt`, errors);
      keys.set(k.hash, {
        id: k.id,
        tenantId: t.id,
        ...(k.userId ? { userId: k.userId } : {}),
        hash: k.hash,
        prefix: k.prefix ?? 'kh_',
        hint: k.hint ?? '…',
        ...(expiresAt ? { expiresAt } : {}),
        ...(revokedAt ? { revokedAt } : {}),
      });
    }
    applyLimitSettings(settings, t, where, { env, groupIds }, errors);
  }
  if (errors.length > 0) return { ok: false, errors };

  const directory: Directory = {
    mode,
    async getTenant(id) {
      return tenants.get(id);
    },
    async getUser(tenantId, userId) {
      return users.get(`${tenantId}\u0000${userId}`);
    },
    async listMemberships(tenantId, userId) {
      return memberships.get(`${tenantId}\u0000${userId}`) ?? [];
    },
    async findVirtualKey(hash) {
      return keys.get(hash);
    },
    async listCredentials(tenantId, provider) {
      return credentials.get(`${tenantId}\u0000${provider}`) ?? [];
    },
    async listOperatorKeys(provider) {
      return operatorKeys.get(provider) ?? [];
    },
    async open(ref: CredentialRef): Promise<Credential> {
      const stored = secrets.get(`${ref.kind}:${ref.id}`);
      if (!stored) throw new NotFoundError(`Credential ${ref.id} no longer exists`);
      const material: Record<string, string | Secret> = { ...stored.fields };
      for (const [name, value] of Object.entries(stored.secrets)) {
        const plain = typeof value === 'string' ? value : env[value.env];
        if (plain) material[name] = Secret.from(plain);
      }
      return toCredential(stored.provider, material);
    },
  };
  return { ok: true, directory };
}

type TenantConfig = NonNullable<GatewayConfig['tenants']>[number];

/**
 * Rate limits, budgets and the alert webhook of one tenant, checked against its users, groups and
 * keys. Per-key limits are written on the key entry in the file and carried in the tenant's
 * `limits.keys`, because the caller of a request holds its tenant, not its key record.
 */
function applyLimitSettings(
  settings: TenantSettings,
  t: TenantConfig,
  where: string,
  context: { env: Readonly<Record<string, string | undefined>>; groupIds: ReadonlySet<string> },
  errors: string[],
): void {
  const s = t.settings ?? {};
  const keyLimits: Record<string, RateLimitSettings> = {};
  for (const k of t.virtualKeys ?? []) if (k.limits) keyLimits[k.id] = k.limits;
  if (s.limits || Object.keys(keyLimits).length > 0) {
    settings.limits = { ...s.limits, ...(Object.keys(keyLimits).length > 0 ? { keys: keyLimits } : {}) };
  }
  if (s.budgets?.length) {
    const known = {
      tenant: new Set<string>(),
      user: new Set((t.users ?? []).map((u) => u.id)),
      group: context.groupIds,
      key: new Set((t.virtualKeys ?? []).map((k) => k.id)),
    };
    const seen = new Set<string>();
    const budgets: BudgetSettings[] = [];
    for (const [bi, b] of s.budgets.entries()) {
      const bwhere = `${where}.settings.budgets[${bi}] (${b.id})`;
      if (seen.has(b.id)) errors.push(`${bwhere}: duplicate budget id`);
      seen.add(b.id);
      if (b.scopeId !== undefined && b.scope === 'tenant')
        errors.push(`${bwhere}: a tenant budget takes no scopeId`);
      else if (b.scopeId !== undefined && !known[b.scope].has(b.scopeId))
        errors.push(`${bwhere}: unknown ${b.scope} ${b.scopeId}`);
      budgets.push({
        id: b.id,
        scope: b.scope,
        ...(b.scopeId !== undefined ? { scopeId: b.scopeId } : {}),
        period: b.period,
        limitMicros: Math.round(b.limitUsd * 1_000_000),
        mode: b.mode ?? 'hard',
      });
    }
    settings.budgets = budgets;
  }
  if (s.alertWebhook) {
    const { url, secret } = s.alertWebhook;
    const plain = typeof secret === 'string' ? secret : context.env[secret.env];
    if (!URL.canParse(url)) errors.push(`${where}.settings.alertWebhook: url is not a valid URL`);
    if (!plain) {
      const name = typeof secret === 'string' ? '' : ` ${secret.env}`;
      errors.push(
        `${where}.settings.alertWebhook: secret reads environment variable${name}, which is not set`,
      );
    } else settings.alertWebhook = { url, secret: Secret.from(plain) };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function parseDate(value: string | undefined, where: string, errors: string[]): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) errors.push(`${where}: not a date`);
  return date;
}

function hintOfSecrets(
  values: Record<string, SecretValue> | undefined,
  env: Record<string, string | undefined>,
) {
  const first = Object.values(values ?? {})[0];
  const plain = typeof first === 'string' ? first : first ? env[first.env] : undefined;
  return plain ? Secret.from(plain).hint : '…';
}
