import type { CredentialMetadata } from '../store/credentials.js';
import type { CredentialView } from './credential-schemas.js';
import { iso } from './schema-helpers.js';

/** The listing form of a stored credential: metadata and a masked key, never the secret. */
export function toCredentialView(row: CredentialMetadata, currentKeyVersion: number): CredentialView {
  return {
    id: row.id,
    provider: row.provider,
    owner: { kind: row.ownerKind, id: row.ownerId },
    purpose: row.purpose,
    masked_key: row.hint,
    status: row.status,
    encryption: {
      algorithm: 'aes-256-gcm',
      key_version: row.keyVersion,
      current: row.keyVersion === currentKeyVersion,
    },
    fields: { ...row.fields },
    configured_at: row.configuredAt.toISOString(),
    validated_at: iso(row.validatedAt),
    last_used_at: iso(row.lastUsedAt),
    updated_at: row.updatedAt.toISOString(),
  };
}
