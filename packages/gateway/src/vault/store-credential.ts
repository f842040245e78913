import { type Credential, getProviderInfo, InvalidRequestError } from '@keyhold/core';
import type { Kysely } from 'kysely';
import {
  type CredentialMetadata,
  type CredentialSlot,
  getCredentialRow,
  upsertCredential,
} from '../store/credentials.js';
import type { Schema } from '../store/schema.js';
import type { SecretFields, Vault } from './vault.js';

export interface CredentialInput extends CredentialSlot {
  /** Secret fields, encrypted. */
  secrets: SecretFields;
  /** Non-secret fields (endpoint, apiVersion, deployment, region, baseURL), stored as they are. */
  fields?: Record<string, string>;
}

/**
 * Encrypts and stores a credential in its slot (replacing what was there). A field the
 * catalogue calls secret is refused among the plain `fields`, so a key cannot end up
 * unencrypted by mistake.
 *
 * @example
 * await storeCredential(db, vault, { owner: tenantOwner(id), provider: 'openai', purpose: 'any', secrets: { apiKey } });
 */
export async function storeCredential(
  db: Kysely<Schema>,
  vault: Vault,
  input: CredentialInput,
): Promise<CredentialMetadata> {
  const secretNames = new Set(
    (getProviderInfo(input.provider)?.credentialFields ?? []).filter((f) => f.secret).map((f) => f.name),
  );
  for (const name of Object.keys(input.fields ?? {})) {
    if (secretNames.has(name) || /key|secret|token|password/i.test(name)) {
      throw new InvalidRequestError(`Field "${name}" is secret and cannot be stored as a plain field`);
    }
  }
  const { owner, provider } = input;
  return upsertCredential(db, input, (credentialId) =>
    vault.seal(
      { tenantId: owner.tenantId, ownerKind: owner.kind, ownerId: owner.id, credentialId, provider },
      input.secrets,
    ),
  );
}

/** Reads and decrypts one credential at call time; undefined when there is no such row. */
export async function loadCredential(
  db: Kysely<Schema>,
  vault: Vault,
  id: string,
): Promise<Credential | undefined> {
  const row = await getCredentialRow(db, id);
  return row && vault.open(row);
}
