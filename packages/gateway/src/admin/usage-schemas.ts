import { type Static, Type } from '@sinclair/typebox';
import { USAGE_DIMENSIONS } from '../store/usage-queries.js';
import { Nullable, Strict, StringEnum, Timestamp, Uuid } from './schema-helpers.js';

const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });

/** Sums over a set of usage events, as every usage response shows them. */
export const usageTotalsFields = {
  requests: Count('Upstream attempts, failed ones and retries included.'),
  errors: Count('Attempts that failed.'),
  estimated_requests: Count('Attempts whose tokens Keyhold counted itself (the provider sent no usage).'),
  input_tokens: Count('Whole prompts, cached and cache-write tokens included.'),
  output_tokens: Count('Reasoning tokens included.'),
  cached_input_tokens: Count(),
  cache_write_input_tokens: Count(),
  reasoning_tokens: Count(),
  cost_micros: Count('Cost in integer micro-dollars (1 US$ = 1 000 000).'),
  cost_usd: Type.String({ description: 'The same cost as a decimal string, e.g. `12.345678`.' }),
  avg_latency_ms: Nullable(Type.Integer({ description: 'Mean attempt latency; null without requests.' })),
  last_at: Nullable(Timestamp('When the newest of these attempts ended.')),
};

export const UsageTotalsView = Type.Object(usageTotalsFields, { title: 'UsageTotals' });
export type UsageTotalsView = Static<typeof UsageTotalsView>;

/** The field a group's value is reported under, per `group_by` dimension. */
export const GROUP_FIELDS = {
  day: 'day',
  month: 'month',
  tenant: 'tenant_id',
  provider: 'provider',
  model: 'model',
  operation: 'operation',
  user: 'user_id',
  virtual_key: 'virtual_key_id',
  credential: 'credential_id',
  key_source: 'key_source',
} as const satisfies Record<(typeof USAGE_DIMENSIONS)[number], string>;

const KEY_SOURCES = ['header', 'user', 'group', 'tenant', 'operator'] as const;
const Name = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 200, description }));

export const Format = Type.Optional(
  StringEnum(['json', 'csv'] as const, {
    description: '`csv` answers `text/csv` (also chosen by `Accept: text/csv`).',
  }),
);

export const UsageQuery = Strict({
  from: Type.Optional(
    Type.String({
      description:
        'Start, included: a UTC day (`2026-03-01`) or an RFC 3339 date-time. Default: the first day of the current UTC month.',
    }),
  ),
  to: Type.Optional(
    Type.String({
      description:
        'End, excluded: a UTC day or an RFC 3339 date-time. Default: the start of the next UTC day.',
    }),
  ),
  group_by: Type.Optional(
    Type.String({
      description: `Comma-separated dimensions, in the order wanted: ${USAGE_DIMENSIONS.join(', ')}. Days and months are UTC.`,
    }),
  ),
  tenant_id: Type.Optional(
    Uuid('Operator: one tenant (default: every tenant). Tenant users: their own tenant only.'),
  ),
  user_id: Type.Optional(Uuid('Only this user (a member always sees only their own usage).')),
  virtual_key_id: Type.Optional(Uuid('Only calls made with this virtual key.')),
  credential_id: Type.Optional(Uuid('Only calls paid with this stored credential or operator key.')),
  provider: Name('Only this provider.'),
  model: Name('Only this model.'),
  operation: Type.Optional(StringEnum(['chat', 'embedding'] as const)),
  key_source: Type.Optional(StringEnum(KEY_SOURCES, { description: 'Which link of the key chain paid.' })),
  format: Format,
});

const groupFieldSchemas = {
  day: Type.Optional(Type.String({ description: 'UTC day `YYYY-MM-DD`.' })),
  month: Type.Optional(Type.String({ description: 'UTC month `YYYY-MM`.' })),
  tenant_id: Type.Optional(Uuid()),
  provider: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  operation: Type.Optional(Type.String()),
  user_id: Type.Optional(Nullable(Uuid())),
  virtual_key_id: Type.Optional(Nullable(Uuid())),
  credential_id: Type.Optional(Nullable(Uuid('Null for a key sent in a request header.'))),
  key_source: Type.Optional(Type.String()),
};

export const UsageReport = Type.Object(
  {
    tenant_id: Nullable(Uuid('The tenant, or null for every tenant (operator).')),
    from: Timestamp(),
    to: Timestamp('Excluded.'),
    group_by: Type.Array(StringEnum(USAGE_DIMENSIONS)),
    groups: Type.Array(Type.Object({ ...groupFieldSchemas, ...usageTotalsFields }), {
      description: 'One entry per combination of the grouped dimensions that has usage, sorted by them.',
    }),
    totals: UsageTotalsView,
  },
  { title: 'UsageReport' },
);

export const MeteringQuery = Strict({
  start: Type.Optional(
    Type.String({ description: 'First UTC day, `YYYY-MM-DD`. Default: the first day of the current month.' }),
  ),
  end: Type.Optional(
    Type.String({ description: 'Last UTC day, included, `YYYY-MM-DD`. Default: today (UTC).' }),
  ),
  format: Format,
});

export const MeteringReport = Type.Object(
  {
    tenant_id: Uuid(),
    period: Type.Object({
      start: Type.String({ description: 'First UTC day.' }),
      end: Type.String({ description: 'Last UTC day, included.' }),
      from: Timestamp('The period as instants: start, included …'),
      to: Timestamp('… and end, excluded (midnight UTC after the last day).'),
    }),
    currency: Type.Literal('USD'),
    totals: UsageTotalsView,
    by_model: Type.Array(
      Type.Object({ provider: Type.String(), model: Type.String(), ...usageTotalsFields }),
      { description: 'Models with usage in the period, by cost (highest first).' },
    ),
    by_day: Type.Array(Type.Object({ day: Type.String(), ...usageTotalsFields }), {
      description: 'Every day of the period, days without usage included.',
    }),
  },
  { title: 'MeteringReport' },
);

/** A credential's recent usage, as credential listings show it. */
export const CredentialUsageView = Type.Object(
  {
    window_days: Type.Integer({ description: 'The last N UTC days, today included.' }),
    requests: Count(),
    errors: Count(),
    input_tokens: Count(),
    output_tokens: Count(),
    cost_micros: Count(),
    last_request_at: Nullable(Timestamp('The newest attempt it paid for in the window.')),
  },
  { title: 'CredentialUsage' },
);
export type CredentialUsageView = Static<typeof CredentialUsageView>;
