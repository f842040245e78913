import type { Credential, Operation, Secret } from '@keyhold/core';

/**
 * The directory: who the tenants, users, groups, virtual keys and provider credentials are. The
 * gateway reads it through this interface only. `createConfigDirectory` implements it over a
 * config file; the vault (issue 4) implements it over PostgreSQL with encrypted credentials.
 *
 * Lookups may be asynchronous (a database); the gateway wraps the directory in
 * `createDirectoryCache` so that the hot path only does in-memory lookups once caches are warm.
 * Nothing here carries key material except what `open` returns, for the duration of one request.
 */

/** `single`: operator keys only. `shared`: tenant keys, operator fallback when the tenant allows.
 * `dedicated`: tenant keys mandatory, no operator keys at all. */
export type DeploymentMode = 'single' | 'shared' | 'dedicated';

/** Which operation a credential may serve. */
export type CredentialPurpose = 'any' | Operation;

export type CredentialStatus = 'active' | 'invalid' | 'revoked';

/** Numeric settings a tenant applies to requests that do not set them (`defaults`) or bounds (`caps`). */
export interface ParameterSettings {
  maxTokens?: number;
  temperature?: number;
}

export interface TenantSettings {
  /** May callers supply their own provider key in `X-Provider-API-Key`? */
  allowKeyHeader: boolean;
  /** In `shared` mode, may the operator's key be used when the tenant has none? */
  allowOperatorFallback: boolean;
  /** `provider/model` or an alias, used when a request names no model. */
  defaultModel?: string;
  defaults?: ParameterSettings;
  caps?: ParameterSettings;
  /**
   * Allowed models as patterns over `provider/model` (`*` matches any run of characters), e.g.
   * `openai/*`, `anthropic/claude-sonnet-*`. Absent: everything is allowed.
   */
  allowedModels?: string[];
  /** Operations that must be paid with the tenant's own key (no operator fallback). */
  mandatoryByo?: Operation[];
  /** Rate limits of the tenant as a whole, and of each of its users and virtual keys. */
  limits?: TenantLimitSettings;
  /** Spending caps; see {@link BudgetSettings}. Absent or empty: no budget is checked. */
  budgets?: BudgetSettings[];
  /** Where budget alerts (50 / 80 / 100 %) are delivered, signed with HMAC. */
  alertWebhook?: AlertWebhookSettings;
}

/** Requests and tokens (input + output) per minute; an absent dimension is not limited. */
export interface RateLimitSettings {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface TenantLimitSettings extends RateLimitSettings {
  /** Applies to each user separately, unless the user has its own `limits`. */
  perUser?: RateLimitSettings;
  /** Applies to each virtual key separately, unless the key has an entry in `keys`. */
  perKey?: RateLimitSettings;
  /** Limits of particular virtual keys, by virtual key id. */
  keys?: Readonly<Record<string, RateLimitSettings>>;
}

export type BudgetScope = 'tenant' | 'group' | 'user' | 'key';

/**
 * A spending cap of a tenant. `scopeId` names the group, user or virtual key it caps; without it
 * a group, user or key budget applies to each group, user or key of the tenant separately (each
 * has its own counter). Periods are UTC calendar days or months.
 */
export interface BudgetSettings {
  /** Unique within the tenant; named in the 429 that a hard budget returns. */
  id: string;
  scope: BudgetScope;
  scopeId?: string;
  period: 'day' | 'month';
  /** The cap in integer micro-dollars (1 US$ = 1 000 000). */
  limitMicros: number;
  /** `hard` refuses calls that could pass the cap; `soft` only alerts. */
  mode: 'hard' | 'soft';
}

/** A tenant's webhook endpoint and its HMAC signing secret. */
export interface AlertWebhookSettings {
  url: string;
  /**
   * The secret itself (config file), or how to decrypt it (the store): a sealed secret is opened
   * only when an alert is delivered, so cached tenants hold no plaintext. Read it with
   * `revealWebhookSecret`.
   */
  secret: Secret | (() => Secret);
}

/** The signing secret of a tenant's webhook, decrypted now if it is sealed. */
export function revealWebhookSecret(webhook: AlertWebhookSettings): Secret {
  return typeof webhook.secret === 'function' ? webhook.secret() : webhook.secret;
}

export interface Tenant {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  settings: TenantSettings;
}

export interface User {
  id: string;
  tenantId: string;
  status: 'active' | 'disabled';
  /** This user's own rate limits, replacing the tenant's `limits.perUser`. */
  limits?: RateLimitSettings;
}

export interface Group {
  id: string;
  tenantId: string;
  name: string;
}

/** A user's membership of a group; `useCredentials` says whether the group's keys serve the user. */
export interface Membership {
  groupId: string;
  userId: string;
  useCredentials: boolean;
}

export interface VirtualKeyRecord {
  id: string;
  tenantId: string;
  userId?: string;
  /** SHA-256 of the key, hex (see `hashVirtualKey`). */
  hash: string;
  /** Visible prefix, e.g. `kh_AbCd`. */
  prefix: string;
  hint: string;
  expiresAt?: Date;
  revokedAt?: Date;
}

export type CredentialOwner =
  | { kind: 'tenant'; id: string }
  | { kind: 'group'; id: string }
  | { kind: 'user'; id: string };

/** A stored provider credential, without its secrets. */
export interface CredentialRecord {
  id: string;
  tenantId: string;
  owner: CredentialOwner;
  provider: string;
  purpose: CredentialPurpose;
  status: CredentialStatus;
  /** `…abcd` of the main secret. */
  hint: string;
  /** Non-secret fields (base URL, Azure endpoint / api version / deployment, Bedrock region). */
  fields: Readonly<Record<string, string>>;
}

/**
 * A key of the operator's, used per deployment mode and tenant policy. Like a tenant's, an
 * invalid or revoked one is an error when it is the key the chain would use, never skipped.
 */
export interface OperatorKeyRecord {
  id: string;
  provider: string;
  purpose: CredentialPurpose;
  status: CredentialStatus;
  hint: string;
  fields: Readonly<Record<string, string>>;
}

/** What `open` needs to find a credential's secrets. */
export type CredentialRef = { kind: 'credential'; id: string } | { kind: 'operator'; id: string };

/** Told when directory data changes, so caches (on every replica) can drop what they hold. */
export type DirectoryChange =
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'virtual-key'; hash: string }
  | { kind: 'credentials'; tenantId: string }
  | { kind: 'operator-keys' }
  /** The operator's egress allow-list changed: every instance reloads it from the store. */
  | { kind: 'egress-allow-list' }
  | { kind: 'all' };

/**
 * A value, or a promise of it. Directory lookups answer with the value itself when they have it
 * at hand (a warm cache), so the request path takes no microtask for them; `await` reads both.
 */
export type Awaitable<T> = T | Promise<T>;

/** `next(value)` at once when `value` is ready, else once it is. */
export function whenReady<T, R>(value: Awaitable<T>, next: (value: T) => Awaitable<R>): Awaitable<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

export interface Directory {
  readonly mode: DeploymentMode;
  getTenant(tenantId: string): Awaitable<Tenant | undefined>;
  getUser(tenantId: string, userId: string): Awaitable<User | undefined>;
  /** The user's group memberships (groups of the user's own tenant only). */
  listMemberships(tenantId: string, userId: string): Awaitable<Membership[]>;
  /** The virtual key whose hash is `hash`, whatever its expiry or revocation. */
  findVirtualKey(hash: string): Awaitable<VirtualKeyRecord | undefined>;
  /** Every credential of the tenant, its groups and its users, for one provider, in any status. */
  listCredentials(tenantId: string, provider: string): Awaitable<CredentialRecord[]>;
  /** The operator's keys for one provider, in any status. */
  listOperatorKeys(provider: string): Awaitable<OperatorKeyRecord[]>;
  /**
   * Decrypts / reads a credential's secrets for one call. The caller drops the result when the
   * request ends. An implementation may reuse what it opened only briefly and only while the
   * stored credential is unchanged: a change notice must drop it (the store directory keeps it
   * with the sealed row it came from, for 10 s at most).
   */
  open(ref: CredentialRef): Awaitable<Credential>;
  /** Subscribes to changes; returns an unsubscribe function. Optional for static directories. */
  subscribe?(listener: (change: DirectoryChange) => void): () => void;
  /** Releases connections. */
  close?(): Promise<void>;
}
