import type { OwnerKind } from '../store/schema.js';

/** The row a credential ciphertext belongs to. */
export interface CredentialBinding {
  /** Null for operator credentials. */
  tenantId: string | null;
  ownerKind: OwnerKind;
  ownerId: string;
  credentialId: string;
  provider: string;
}

/**
 * The associated data that binds a ciphertext to its row: a ciphertext copied to another
 * tenant, owner, credential id or provider fails authentication. A JSON array is unambiguous
 * (no value can run into the next), and the label separates it from other uses of the key.
 */
export function credentialAssociatedData(binding: CredentialBinding): Buffer {
  return Buffer.from(
    JSON.stringify([
      'keyhold.credential.v1',
      binding.tenantId ?? '',
      binding.ownerKind,
      binding.ownerId,
      binding.credentialId,
      binding.provider,
    ]),
    'utf8',
  );
}

/** The associated data of a key version's check value. */
export function checkValueAssociatedData(version: number): Buffer {
  return Buffer.from(JSON.stringify(['keyhold.check.v1', version]), 'utf8');
}

/**
 * The associated data of a tenant's alert-webhook signing secret: the tenant and its own label,
 * so a webhook blob moved to another tenant fails, and no credential blob (labelled
 * `keyhold.credential.v1`) can ever be opened as a webhook secret, nor the reverse.
 */
export function alertWebhookAssociatedData(tenantId: string): Buffer {
  return Buffer.from(JSON.stringify(['keyhold.alert-webhook.v1', tenantId, 'alert-webhook']), 'utf8');
}
