import { type Static, Type } from '@sinclair/typebox';
import type { TenantSettings } from '../store/schema.js';
import { badRequest } from './admin-error.js';
import { Strict, StringEnum } from './schema-helpers.js';

const ModelName = Type.String({ minLength: 1, maxLength: 200 });
const MaxTokens = Type.Integer({ minimum: 1, maximum: 10_000_000 });
const Temperature = Type.Number({ minimum: 0, maximum: 2 });

const DefaultParameters = Strict(
  {
    max_tokens: Type.Optional(MaxTokens),
    temperature: Type.Optional(Temperature),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { description: 'Applied to requests that do not set them; within `parameter_caps`.' },
);
const ParameterCaps = Strict(
  { max_tokens: Type.Optional(MaxTokens), temperature: Type.Optional(Temperature) },
  { description: 'Operator caps: the most a tenant may set (and a request may ask for).' },
);

const PerMinute = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
const RateLimit = Strict(
  {
    requests_per_minute: Type.Optional(PerMinute),
    tokens_per_minute: Type.Optional(PerMinute),
  },
  { title: 'RateLimit', description: 'Requests and tokens (prompt + output) per minute; absent: no limit.' },
);
const RateLimits = Strict(
  {
    ...RateLimit.properties,
    per_user: Type.Optional(RateLimit),
    per_key: Type.Optional(RateLimit),
    keys: Type.Optional(
      Type.Record(Type.String({ format: 'uuid' }), RateLimit, {
        description: 'Limits of particular virtual keys, by virtual key id (instead of `per_key`).',
      }),
    ),
  },
  {
    title: 'RateLimits',
    description:
      'The tenant’s own limits, and limits applied to each of its users (`per_user`) and virtual keys (`per_key`).',
  },
);
const BudgetInput = Strict(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'Named in the 429 it causes.',
    }),
    scope: StringEnum(['tenant', 'group', 'user', 'key'] as const),
    scope_id: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'The group, user or virtual key capped; absent: each one separately.',
      }),
    ),
    period: StringEnum(['day', 'month'] as const, { description: 'UTC calendar day or month.' }),
    limit_usd: Type.Number({ minimum: 0, maximum: 1e9 }),
    mode: StringEnum(['hard', 'soft'] as const, {
      description: '`hard` refuses calls that could pass the cap (429); `soft` only alerts.',
    }),
  },
  { title: 'Budget' },
);

/** Fields a tenant admin may change (within the operator's caps). */
const tenantFields = {
  default_model: Type.Optional(ModelName),
  default_parameters: Type.Optional(DefaultParameters),
  fallback_models: Type.Optional(Type.Array(ModelName, { maxItems: 20 })),
  mandatory_byo: Type.Optional(
    Type.Array(StringEnum(['chat', 'embedding'] as const), {
      uniqueItems: true,
      description: 'Operations that must be paid with the tenant’s own key.',
    }),
  ),
};
/** Fields only the operator sets: who pays, what is allowed, how much. */
const operatorFields = {
  allowed_models: Type.Optional(
    Type.Array(ModelName, {
      maxItems: 200,
      description: 'Patterns over `provider/model` (`*` matches any run); absent: everything.',
    }),
  ),
  allow_request_key_header: Type.Optional(
    Type.Boolean({ description: 'Whether callers may send their own key in `X-Provider-API-Key`.' }),
  ),
  allow_operator_fallback: Type.Optional(
    Type.Boolean({
      description: 'Whether the operator’s key serves the tenant when it has none (shared mode).',
    }),
  ),
  monthly_budget_usd: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1e9, description: 'Hard monthly spending cap of the tenant, US$.' }),
  ),
  parameter_caps: Type.Optional(ParameterCaps),
  rate_limits: Type.Optional(RateLimits),
  budgets: Type.Optional(
    Type.Array(BudgetInput, {
      maxItems: 100,
      description: `Every budget of the tenant (replaces the stored list; \`monthly_budget_usd\` is the budget with id \`${'tenant-monthly'}\`).`,
    }),
  ),
};

export const TenantSettingsView = Type.Object(
  { ...tenantFields, ...operatorFields },
  { title: 'TenantSettings' },
);
export type TenantSettingsView = Static<typeof TenantSettingsView>;

/** What the operator may set (everything). */
export const OperatorSettingsInput = Strict(
  { ...tenantFields, ...operatorFields },
  { title: 'OperatorTenantSettings' },
);
/** What a tenant admin may set: operator-only fields are unknown fields here (400). */
export const TenantAdminSettingsInput = Strict(tenantFields, { title: 'TenantAdminSettings' });
export type SettingsInput = Static<typeof OperatorSettingsInput>;

/** The budget the admin API manages inside the tenant's `budgets` (the limits module's shape). */
export const MONTHLY_BUDGET_ID = 'tenant-monthly';

/**
 * Tenant settings as stored: the store's `TenantSettings` (camelCase), which the store directory
 * maps to the request path's settings (`store/to-directory-records.ts`): `parameterCaps`, and
 * `budgets` in the limits module's shape (integer micro-dollars).
 */
export type StoredSettings = TenantSettings;

export function toSettingsView(stored: StoredSettings): TenantSettingsView {
  const params = (stored.defaultParameters ?? {}) as {
    maxTokens?: number;
    temperature?: number;
    topP?: number;
  };
  const monthly = stored.budgets?.find((b) => b.id === MONTHLY_BUDGET_ID);
  const caps = (stored.parameterCaps ?? undefined) as
    | { maxTokens?: number; temperature?: number }
    | undefined;
  const view: TenantSettingsView = {};
  if (stored.defaultModel !== undefined) view.default_model = stored.defaultModel;
  if (stored.defaultParameters !== undefined) {
    view.default_parameters = {
      ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
      ...(params.topP !== undefined ? { top_p: params.topP } : {}),
    };
  }
  if (stored.fallbackModels) view.fallback_models = [...stored.fallbackModels];
  if (stored.mandatoryByo) view.mandatory_byo = [...stored.mandatoryByo];
  if (stored.allowedModels) view.allowed_models = [...stored.allowedModels];
  if (stored.allowRequestKeyHeader !== undefined)
    view.allow_request_key_header = stored.allowRequestKeyHeader;
  if (stored.allowOperatorFallback !== undefined) view.allow_operator_fallback = stored.allowOperatorFallback;
  if (monthly && typeof monthly.limitMicros === 'number')
    view.monthly_budget_usd = monthly.limitMicros / 1_000_000;
  const limits = stored.limits as StoredLimits | undefined;
  if (limits) view.rate_limits = toRateLimitsView(limits);
  if (stored.budgets && stored.budgets.length > 0) {
    view.budgets = (stored.budgets as unknown as StoredBudget[]).map((b) => ({
      id: b.id,
      scope: b.scope,
      ...(b.scopeId !== undefined ? { scope_id: b.scopeId } : {}),
      period: b.period,
      limit_usd: b.limitMicros / 1_000_000,
      mode: b.mode,
    }));
  }
  if (caps) {
    view.parameter_caps = {
      ...(caps.maxTokens !== undefined ? { max_tokens: caps.maxTokens } : {}),
      ...(caps.temperature !== undefined ? { temperature: caps.temperature } : {}),
    };
  }
  return view;
}

/**
 * Applies the given fields to stored settings (fields not given stay; other stored keys, such as
 * budgets set elsewhere, are kept) and checks the result against the operator's caps.
 */
export function applySettings(stored: StoredSettings, input: SettingsInput): StoredSettings {
  const next: StoredSettings = { ...stored };
  if (input.default_model !== undefined) next.defaultModel = input.default_model;
  if (input.default_parameters !== undefined) {
    const p = input.default_parameters;
    next.defaultParameters = {
      ...(p.max_tokens !== undefined ? { maxTokens: p.max_tokens } : {}),
      ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
      ...(p.top_p !== undefined ? { topP: p.top_p } : {}),
    };
  }
  if (input.fallback_models !== undefined) next.fallbackModels = [...input.fallback_models];
  if (input.mandatory_byo !== undefined) next.mandatoryByo = [...input.mandatory_byo];
  if (input.allowed_models !== undefined) next.allowedModels = [...input.allowed_models];
  if (input.allow_request_key_header !== undefined)
    next.allowRequestKeyHeader = input.allow_request_key_header;
  if (input.allow_operator_fallback !== undefined) next.allowOperatorFallback = input.allow_operator_fallback;
  if (input.rate_limits !== undefined) next.limits = toStoredLimits(input.rate_limits);
  if (input.budgets !== undefined) {
    const ids = new Set<string>();
    next.budgets = input.budgets.map((b, i) => {
      if (ids.has(b.id)) throw badRequest(`budgets.${i}.id`, `Budget id "${b.id}" is used twice`);
      ids.add(b.id);
      if (b.scope === 'tenant' && b.scope_id !== undefined) {
        throw badRequest(`budgets.${i}.scope_id`, 'A tenant budget names no scope id');
      }
      const budget: StoredBudget = {
        id: b.id,
        scope: b.scope,
        ...(b.scope_id !== undefined ? { scopeId: b.scope_id } : {}),
        period: b.period,
        limitMicros: Math.round(b.limit_usd * 1_000_000),
        mode: b.mode,
      };
      return budget as unknown as Record<string, unknown>;
    });
  }
  if (input.monthly_budget_usd !== undefined) {
    const others = (next.budgets ?? []).filter((b) => b.id !== MONTHLY_BUDGET_ID);
    next.budgets = [
      ...others,
      {
        id: MONTHLY_BUDGET_ID,
        scope: 'tenant',
        period: 'month',
        limitMicros: Math.round(input.monthly_budget_usd * 1_000_000),
        mode: 'hard',
      },
    ];
  }
  if (input.parameter_caps !== undefined) {
    const c = input.parameter_caps;
    next.parameterCaps = {
      ...(c.max_tokens !== undefined ? { maxTokens: c.max_tokens } : {}),
      ...(c.temperature !== undefined ? { temperature: c.temperature } : {}),
    };
  }
  checkWithinCaps(next);
  return next;
}

interface StoredRate {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}
interface StoredLimits extends StoredRate {
  perUser?: StoredRate;
  perKey?: StoredRate;
  keys?: Record<string, StoredRate>;
}
/** The limits module's `BudgetSettings` shape, as stored in `settings.budgets`. */
interface StoredBudget {
  id: string;
  scope: 'tenant' | 'group' | 'user' | 'key';
  scopeId?: string;
  period: 'day' | 'month';
  limitMicros: number;
  mode: 'hard' | 'soft';
}
type RateView = { requests_per_minute?: number; tokens_per_minute?: number };

function toStoredRate(view: RateView): StoredRate {
  return {
    ...(view.requests_per_minute !== undefined ? { requestsPerMinute: view.requests_per_minute } : {}),
    ...(view.tokens_per_minute !== undefined ? { tokensPerMinute: view.tokens_per_minute } : {}),
  };
}

function toRateView(stored: StoredRate): RateView {
  return {
    ...(stored.requestsPerMinute !== undefined ? { requests_per_minute: stored.requestsPerMinute } : {}),
    ...(stored.tokensPerMinute !== undefined ? { tokens_per_minute: stored.tokensPerMinute } : {}),
  };
}

function toStoredLimits(view: NonNullable<SettingsInput['rate_limits']>): Record<string, unknown> {
  const limits: StoredLimits = {
    ...toStoredRate(view),
    ...(view.per_user ? { perUser: toStoredRate(view.per_user) } : {}),
    ...(view.per_key ? { perKey: toStoredRate(view.per_key) } : {}),
    ...(view.keys
      ? { keys: Object.fromEntries(Object.entries(view.keys).map(([id, r]) => [id, toStoredRate(r)])) }
      : {}),
  };
  return limits as Record<string, unknown>;
}

function toRateLimitsView(stored: StoredLimits): NonNullable<TenantSettingsView['rate_limits']> {
  return {
    ...toRateView(stored),
    ...(stored.perUser ? { per_user: toRateView(stored.perUser) } : {}),
    ...(stored.perKey ? { per_key: toRateView(stored.perKey) } : {}),
    ...(stored.keys
      ? { keys: Object.fromEntries(Object.entries(stored.keys).map(([id, r]) => [id, toRateView(r)])) }
      : {}),
  };
}

/** Throws a 400 naming the first setting that goes beyond what the operator allows. */
export function checkWithinCaps(settings: StoredSettings): void {
  const params = (settings.defaultParameters ?? {}) as { maxTokens?: number; temperature?: number };
  const caps = (settings.parameterCaps ?? {}) as { maxTokens?: number; temperature?: number };
  if (caps.maxTokens !== undefined && params.maxTokens !== undefined && params.maxTokens > caps.maxTokens) {
    throw badRequest('default_parameters.max_tokens', `Above the operator's cap of ${caps.maxTokens} tokens`);
  }
  if (
    caps.temperature !== undefined &&
    params.temperature !== undefined &&
    params.temperature > caps.temperature
  ) {
    throw badRequest('default_parameters.temperature', `Above the operator's cap of ${caps.temperature}`);
  }
  const allowed = settings.allowedModels;
  if (!allowed) return;
  const permitted = (model: string) => !model.includes('/') || allowed.some((p) => globMatches(p, model));
  if (settings.defaultModel !== undefined && !permitted(settings.defaultModel)) {
    throw badRequest('default_model', "Not among the tenant's allowed models");
  }
  if ((settings.fallbackModels ?? []).some((m) => !permitted(m))) {
    throw badRequest('fallback_models', "Not among the tenant's allowed models");
  }
}

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return regex.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
