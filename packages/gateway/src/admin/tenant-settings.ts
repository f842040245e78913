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
  if (input.monthly_budget_usd !== undefined) {
    const others = (stored.budgets ?? []).filter((b) => b.id !== MONTHLY_BUDGET_ID);
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
