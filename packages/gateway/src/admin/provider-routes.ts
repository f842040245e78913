import { PROVIDERS } from '@keyhold/core';
import { Type } from '@sinclair/typebox';
import { ALL_ROLES, type AnyRouteSpec, defineRoute } from './route-spec.js';
import { StringEnum } from './schema-helpers.js';

const FieldView = Type.Object({
  name: Type.String({ description: 'The name to send in a credential body.' }),
  label: Type.String(),
  secret: Type.Boolean({ description: 'Encrypted at rest, never shown back.' }),
  required: Type.Boolean(),
  kind: StringEnum(['key', 'url', 'text'] as const),
  pattern: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
});

const ProviderView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    wire_format: Type.String(),
    operations: Type.Array(StringEnum(['chat', 'embedding'] as const)),
    default_base_url: Type.Optional(Type.String()),
    credential_fields: Type.Array(FieldView),
    credential_alternatives: Type.Optional(
      Type.Array(Type.Array(Type.String()), {
        description:
          'Groups of fields of which one must be complete (Bedrock: an API key, or an access key pair).',
      }),
    ),
  },
  { title: 'Provider' },
);

const BODY = {
  providers: PROVIDERS.map((p) => ({
    id: p.id,
    name: p.name,
    wire_format: p.wireFormat,
    operations: [...p.operations],
    ...(p.defaultBaseURL ? { default_base_url: p.defaultBaseURL } : {}),
    credential_fields: p.credentialFields.map((f) => ({
      name: f.name,
      label: f.label,
      secret: f.secret,
      required: f.required,
      kind: f.kind,
      ...(f.pattern ? { pattern: f.pattern } : {}),
      ...(f.description ? { description: f.description } : {}),
    })),
    ...(p.credentialAlternatives
      ? { credential_alternatives: p.credentialAlternatives.map((g) => [...g]) }
      : {}),
  })),
};

/** The provider catalogue with the credential fields each needs, for forms. */
export function providerRoutes(): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/providers',
      operationId: 'listProviders',
      summary: 'Supported providers and the credential fields each needs',
      tag: 'Providers',
      roles: ALL_ROLES,
      status: 200,
      response: Type.Object({ providers: Type.Array(ProviderView) }),
      handler: async () => BODY,
    }),
  ];
}
