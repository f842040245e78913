import { PROVIDERS } from '@keyhold/core';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Nullable, Strict, StringEnum, Timestamp, Uuid } from './schema-helpers.js';
import { CredentialUsageView } from './usage-schemas.js';

export const PURPOSES = ['any', 'chat', 'embedding'] as const;
export const Purpose = StringEnum(PURPOSES, {
  description: 'Which operations the credential serves (`any`: both).',
});

// One body for every provider, named after the catalogue's fields (what `GET /api/v1/providers`
// lists, so a form can post what it shows). Which fields a provider takes and needs is checked
// against the catalogue after schema validation, naming the field at fault.
const fieldProperties: Record<string, TSchema> = {};
for (const provider of PROVIDERS) {
  for (const field of provider.credentialFields) {
    fieldProperties[field.name] ??= Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: field.secret ? 8192 : 2048,
        description: `${field.label}${field.secret ? ' (secret: stored encrypted, never returned)' : ''}`,
        ...(field.secret ? { writeOnly: true } : {}),
      }),
    );
  }
}

/** A provider credential as submitted: the catalogue's fields for that provider, and a purpose. */
export const CredentialBody = Strict(
  { purpose: Type.Optional(Purpose), ...fieldProperties },
  {
    title: 'CredentialInput',
    description: 'A provider credential: the fields `GET /api/v1/providers` lists for the provider.',
  },
);
export type CredentialBody = { purpose?: (typeof PURPOSES)[number] } & Record<string, string | undefined>;

/** A stored credential as listings show it: never a key, only `masked_key`. */
export const CredentialView = Type.Object(
  {
    id: Uuid(),
    provider: Type.String(),
    owner: Type.Object({
      kind: StringEnum(['operator', 'tenant', 'group', 'user'] as const),
      id: Uuid(),
    }),
    purpose: Purpose,
    masked_key: Type.String({ description: 'The last characters of the key, e.g. `…abcd`.' }),
    status: StringEnum(['active', 'invalid', 'revoked'] as const),
    encryption: Type.Object({
      algorithm: Type.Literal('aes-256-gcm'),
      key_version: Type.Integer({ description: 'Master key version that encrypted it.' }),
      current: Type.Boolean({
        description: 'Whether that is the newest master key (false: awaiting rotation).',
      }),
    }),
    fields: Type.Record(Type.String(), Type.String(), {
      description: 'Non-secret fields (endpoint, apiVersion, deployment, region, baseURL).',
    }),
    configured_at: Timestamp(),
    validated_at: Nullable(Timestamp()),
    last_used_at: Nullable(Timestamp()),
    updated_at: Timestamp(),
    usage: Type.Optional(CredentialUsageView),
    validation: Type.Optional(
      Type.Object(
        {
          result: StringEnum(['valid', 'invalid', 'unverified'] as const),
          code: Type.Optional(Type.String({ description: 'Why, when not valid (a Keyhold error code).' })),
        },
        { description: 'Present after `?validate=true`.' },
      ),
    ),
  },
  { title: 'Credential' },
);
export type CredentialView = Static<typeof CredentialView>;

export const CredentialList = Type.Object({ credentials: Type.Array(CredentialView) });

export const ProviderParam = Type.String({ description: 'A provider id from `GET /api/v1/providers`.' });

export const SaveQuery = Type.Object({
  validate: Type.Optional(
    Type.Boolean({ description: 'Check the key with a cheap provider call first (1 output token).' }),
  ),
  model: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'The model the validation call uses.' }),
  ),
});

export const PurposeQuery = Type.Object({
  purpose: Type.Optional(Purpose),
});
