import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The database as Kysely sees it. Column names are camelCase here and snake_case in SQL
 * (Kysely's `CamelCasePlugin` maps them); JSON columns are written as JSON text and read back
 * parsed.
 */
export interface Schema {
  tenants: TenantsTable;
  users: UsersTable;
  groups: GroupsTable;
  groupMemberships: GroupMembershipsTable;
  virtualKeys: VirtualKeysTable;
  credentials: CredentialsTable;
  auditEvents: AuditEventsTable;
  vaultKeys: VaultKeysTable;
  usageEvents: UsageEventsTable;
  usageDaily: UsageDailyTable;
  alertWebhooks: AlertWebhooksTable;
}

/** A JSON column: written as JSON text, read back as the parsed value. */
type Json<T> = ColumnType<T, string, string>;
/** A timestamp the database fills in on insert unless given. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export type TenantStatus = 'active' | 'suspended';
export type UserRole = 'tenant_admin' | 'member';
export type OwnerKind = 'operator' | 'tenant' | 'group' | 'user';
export type CredentialPurpose = 'any' | 'chat' | 'embedding';
export type CredentialStatus = 'active' | 'invalid' | 'revoked';

/** A tenant's policy. Every field is optional: absent means the deployment's default. */
export interface TenantSettings {
  /** Whether the operator's global key may serve this tenant when it has none (shared mode only). */
  allowOperatorFallback?: boolean;
  /** Other models to try, in order, when the requested one fails transiently. */
  fallbackModels?: string[];
  /** Whether the per-request `X-Provider-API-Key` header is accepted. */
  allowRequestKeyHeader?: boolean;
  /** Model used when a request names none. */
  defaultModel?: string;
  /** Parameters applied when a request does not set them (temperature, max tokens …). */
  defaultParameters?: Record<string, unknown>;
  /** When set, only these models may be called. */
  allowedModels?: string[];
  /** Operations that need the tenant's own credential: no tenant key, no call. */
  mandatoryByo?: Array<'chat' | 'embedding'>;
  /** Upper bounds on request parameters (`maxTokens`, `temperature`). */
  parameterCaps?: Record<string, unknown>;
  /**
   * Rate limits: `{ requestsPerMinute?, tokensPerMinute?, perUser?, perKey?, keys? }`, the
   * directory's `TenantLimitSettings` shape.
   */
  limits?: Record<string, unknown>;
  /**
   * Spending caps: `{ id, scope, scopeId?, period, limitMicros, mode }` each, the directory's
   * `BudgetSettings` shape (integer micro-dollars).
   */
  budgets?: Array<Record<string, unknown>>;
}

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  status: ColumnType<TenantStatus, TenantStatus | undefined, TenantStatus>;
  settings: Json<TenantSettings>;
  createdAt: CreatedAt;
  updatedAt: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  tenantId: string;
  email: string;
  name: string;
  role: UserRole;
  createdAt: CreatedAt;
  updatedAt: Timestamp;
}

export interface GroupsTable {
  id: Generated<string>;
  tenantId: string;
  name: string;
  createdAt: CreatedAt;
}

export interface GroupMembershipsTable {
  groupId: string;
  userId: string;
  tenantId: string;
  /** Whether this member may call with the group's credentials. */
  mayUseCredentials: ColumnType<boolean, boolean | undefined, boolean>;
  createdAt: CreatedAt;
}

export interface VirtualKeysTable {
  id: Generated<string>;
  tenantId: string;
  userId: string | null;
  /** SHA-256 of the whole key, lowercase hex. The key itself is never stored. */
  keyHash: string;
  /** The visible start of the key, e.g. `kh_live_ab12`. */
  prefix: string;
  /** The last characters of the key, as core's `hintOf` renders them. */
  hint: string;
  name: string;
  expiresAt: NullableTimestamp;
  revokedAt: NullableTimestamp;
  createdAt: CreatedAt;
  lastUsedAt: NullableTimestamp;
}

export interface CredentialsTable {
  /** Chosen by the writer, not the database: it is part of the ciphertext's associated data. */
  id: string;
  /** Null only for operator (global) credentials. */
  tenantId: string | null;
  ownerKind: OwnerKind;
  /** The tenant, group or user id; the nil UUID for operator credentials. */
  ownerId: string;
  provider: string;
  purpose: CredentialPurpose;
  /** The vault's versioned blob (see vault/ciphertext-format.ts). */
  ciphertext: Uint8Array;
  /** Master key version that encrypted `ciphertext` (duplicated from its header for queries). */
  keyVersion: number;
  hint: string;
  /** Non-secret provider fields: endpoint, apiVersion, deployment, region, baseURL. */
  fields: Json<Record<string, string>>;
  status: ColumnType<CredentialStatus, CredentialStatus | undefined, CredentialStatus>;
  configuredAt: Timestamp;
  validatedAt: NullableTimestamp;
  lastUsedAt: NullableTimestamp;
  updatedAt: Timestamp;
}

export interface AuditEventsTable {
  /** Global insertion order. */
  seq: Generated<string>;
  id: Generated<string>;
  /** Null for operator events. */
  tenantId: string | null;
  /** 1, 2, 3 … within the tenant's chain (the operator chain when `tenantId` is null). */
  position: ColumnType<string, number, never>;
  actor: string;
  action: string;
  targetId: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
  createdAt: ColumnType<Date, Date, never>;
  prevHash: ColumnType<string | null, string | null, never>;
  hash: ColumnType<string, string, never>;
}

export interface VaultKeysTable {
  version: number;
  /** The encryption of a known constant under this key version: detects a wrong master key. */
  checkValue: Uint8Array;
  createdAt: CreatedAt;
  retiredAt: NullableTimestamp;
}

/** bigint columns: written as numbers, read back as strings (node-postgres and PGlite alike). */
type BigCount = ColumnType<string, number | bigint | string, number | bigint | string>;

/** One upstream attempt (see metering/usage-sink.ts `UsageEvent`), keyed by request id + attempt. */
export interface UsageEventsTable {
  requestId: string;
  attempt: number;
  tenantId: string;
  userId: string | null;
  virtualKeyId: string | null;
  credentialId: string | null;
  keySource: string;
  provider: string;
  model: string;
  operation: string;
  inputTokens: BigCount;
  outputTokens: BigCount;
  cachedInputTokens: BigCount;
  cacheWriteInputTokens: BigCount;
  reasoningTokens: BigCount;
  costMicros: BigCount;
  priced: boolean;
  estimated: boolean;
  latencyMs: number;
  status: 'ok' | 'error';
  errorClass: string | null;
  upstreamStatus: number | null;
  occurredAt: Date;
  recordedAt: CreatedAt;
}

/** Sums of `usage_events` per UTC day and dimension set; maintained by the ledger writer. */
export interface UsageDailyTable {
  tenantId: string;
  /** `YYYY-MM-DD` (UTC). */
  day: ColumnType<string, string, string>;
  provider: string;
  model: string;
  operation: string;
  userId: string | null;
  virtualKeyId: string | null;
  credentialId: string | null;
  keySource: string;
  requests: BigCount;
  errors: BigCount;
  estimatedRequests: BigCount;
  inputTokens: BigCount;
  outputTokens: BigCount;
  cachedInputTokens: BigCount;
  cacheWriteInputTokens: BigCount;
  reasoningTokens: BigCount;
  costMicros: BigCount;
  latencyMsTotal: BigCount;
  lastAt: Date;
}

/** A tenant's budget-alert webhook; the signing secret is sealed (see vault/alert-webhook-secret.ts). */
export interface AlertWebhooksTable {
  tenantId: string;
  url: string;
  /** The vault's versioned blob, bound to the tenant and the label `alert-webhook`. */
  ciphertext: Uint8Array;
  /** Master key version that encrypted `ciphertext` (duplicated from its header for queries). */
  keyVersion: number;
  hint: string;
  createdAt: CreatedAt;
  updatedAt: Timestamp;
}

export type TenantRow = Selectable<TenantsTable>;
export type UserRow = Selectable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type GroupMembershipRow = Selectable<GroupMembershipsTable>;
export type VirtualKeyRow = Selectable<VirtualKeysTable>;
export type CredentialRow = Selectable<CredentialsTable>;
export type NewCredentialRow = Insertable<CredentialsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type AlertWebhookRow = Selectable<AlertWebhooksTable>;
