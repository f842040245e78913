import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

/**
 * The one schema of the gateway's configuration file (YAML or JSON). Secrets are never given a
 * default: each is `{ env: 'VAR' }` (read from the environment) or, for development only, an
 * inline string. Virtual keys are given by their SHA-256 hash only.
 */

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });
const Operation = Type.Union([Type.Literal('chat'), Type.Literal('embedding')]);
const Purpose = Type.Union([Type.Literal('any'), Operation]);
const CredentialStatus = Type.Union([
  Type.Literal('active'),
  Type.Literal('invalid'),
  Type.Literal('revoked'),
]);

export const SecretValueSchema = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ env: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
]);

const Secrets = Type.Record(Type.String(), SecretValueSchema);
const Fields = Type.Record(Type.String(), Type.String());
const Params = Type.Object(
  {
    maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  },
  { additionalProperties: false },
);

const PerMinute = Type.Integer({ minimum: 1 });
const RateLimits = Type.Object(
  { requestsPerMinute: Type.Optional(PerMinute), tokensPerMinute: Type.Optional(PerMinute) },
  { additionalProperties: false },
);

const TenantLimits = Type.Object(
  {
    requestsPerMinute: Type.Optional(PerMinute),
    tokensPerMinute: Type.Optional(PerMinute),
    /** Each user separately, unless the user sets its own `limits`. */
    perUser: Type.Optional(RateLimits),
    /** Each virtual key separately, unless the key sets its own `limits`. */
    perKey: Type.Optional(RateLimits),
  },
  { additionalProperties: false },
);

const BudgetSchema = Type.Object(
  {
    id: Id,
    scope: Type.Union([
      Type.Literal('tenant'),
      Type.Literal('group'),
      Type.Literal('user'),
      Type.Literal('key'),
    ]),
    /** The group, user or virtual key id; absent: each group / user / key separately. */
    scopeId: Type.Optional(Id),
    period: Type.Union([Type.Literal('day'), Type.Literal('month')]),
    /** US dollars; stored as integer micro-dollars. */
    limitUsd: Type.Number({ minimum: 0, maximum: 1e9 }),
    /** Default `hard`. */
    mode: Type.Optional(Type.Union([Type.Literal('hard'), Type.Literal('soft')])),
  },
  { additionalProperties: false },
);

const AlertWebhookSchema = Type.Object(
  { url: Type.String({ pattern: '^https?://' }), secret: SecretValueSchema },
  { additionalProperties: false },
);

const PriceOverrideSchema = Type.Object(
  {
    provider: Type.String({ minLength: 1 }),
    /** The model as sent upstream, or `*` for every model of the provider. */
    model: Type.String({ minLength: 1 }),
    inputPerMTok: Type.Number({ minimum: 0 }),
    outputPerMTok: Type.Number({ minimum: 0 }),
    cachedInputPerMTok: Type.Optional(Type.Number({ minimum: 0 })),
    cacheWritePerMTok: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** Operator price overrides (US$ per million tokens): the configuration file's and the models file's `pricing`. */
export const PricingSchema = Type.Object(
  { overrides: Type.Optional(Type.Array(PriceOverrideSchema)) },
  { additionalProperties: false },
);

const CredentialSchema = Type.Object(
  {
    id: Id,
    owner: Type.Optional(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('tenant'), Type.Literal('group'), Type.Literal('user')]),
          id: Type.Optional(Id),
        },
        { additionalProperties: false },
      ),
    ),
    provider: Type.String({ minLength: 1 }),
    purpose: Type.Optional(Purpose),
    status: Type.Optional(CredentialStatus),
    secrets: Type.Optional(Secrets),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);

const TenantSchema = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String()),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
    settings: Type.Optional(
      Type.Object(
        {
          allowKeyHeader: Type.Optional(Type.Boolean()),
          allowOperatorFallback: Type.Optional(Type.Boolean()),
          defaultModel: Type.Optional(Type.String({ minLength: 1 })),
          defaults: Type.Optional(Params),
          caps: Type.Optional(Params),
          allowedModels: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
          mandatoryByo: Type.Optional(Type.Array(Operation)),
          limits: Type.Optional(TenantLimits),
          budgets: Type.Optional(Type.Array(BudgetSchema)),
          alertWebhook: Type.Optional(AlertWebhookSchema),
        },
        { additionalProperties: false },
      ),
    ),
    users: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id,
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
            limits: Type.Optional(RateLimits),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    groups: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id,
            name: Type.Optional(Type.String()),
            members: Type.Optional(
              Type.Array(
                Type.Object(
                  { userId: Id, useCredentials: Type.Optional(Type.Boolean()) },
                  { additionalProperties: false },
                ),
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    credentials: Type.Optional(Type.Array(CredentialSchema)),
    virtualKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id,
            hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
            userId: Type.Optional(Id),
            prefix: Type.Optional(Type.String()),
            hint: Type.Optional(Type.String()),
            expiresAt: Type.Optional(Type.String({ minLength: 1 })),
            revokedAt: Type.Optional(Type.String({ minLength: 1 })),
            limits: Type.Optional(RateLimits),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('single'), Type.Literal('shared'), Type.Literal('dedicated')]),
    ),
    server: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          host: Type.Optional(Type.String()),
          bodyLimit: Type.Optional(Type.Integer({ minimum: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
    models: Type.Optional(
      Type.Object(
        {
          /** Operator aliases: `fast: openai/gpt-4o-mini`. */
          aliases: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 3 }))),
          /** `provider/model` ids listed by `GET /v1/models` (besides the aliases). */
          list: Type.Optional(Type.Array(Type.String({ minLength: 3 }))),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Operator-set non-secret fields per provider (e.g. `openai: { baseURL: https://egress/v1 }`).
     * They apply to every key for that provider, including `X-Provider-API-Key` header keys; a
     * stored credential's own fields win.
     */
    providers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Fields)),
    operatorKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id,
            provider: Type.String({ minLength: 1 }),
            purpose: Type.Optional(Purpose),
            status: Type.Optional(CredentialStatus),
            secrets: Type.Optional(Secrets),
            fields: Type.Optional(Fields),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    tenants: Type.Optional(Type.Array(TenantSchema)),
    /** Operator price overrides (US$ per million tokens); they win over the bundled catalogue. */
    pricing: Type.Optional(PricingSchema),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type SecretValue = Static<typeof SecretValueSchema>;

export type ConfigParseResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

/**
 * Parses and validates configuration text (YAML is a superset of JSON, so one parser reads both).
 * Errors name the offending path, e.g. `/tenants/0/credentials/1/provider: Expected string`.
 */
export function parseGatewayConfig(text: string): ConfigParseResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [`not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`] };
  }
  return validateGatewayConfig(raw ?? {});
}

/** Validates an already-parsed configuration object. */
export function validateGatewayConfig(raw: unknown): ConfigParseResult {
  if (Value.Check(GatewayConfigSchema, raw)) return { ok: true, config: raw };
  const errors = [...Value.Errors(GatewayConfigSchema, raw)]
    .slice(0, 10)
    .map((e) => `${e.path || '/'}: ${e.message}`);
  return { ok: false, errors };
}
