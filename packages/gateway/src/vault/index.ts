export type { CredentialBinding } from './associated-data.js';
export { keyVersionOf } from './ciphertext-format.js';
export { checkKeyring, type KeyringCheck } from './key-check.js';
export {
  createKeyring,
  type GeneratedMasterKey,
  generateMasterKey,
  type Keyring,
  loadKeyring,
  parseKeyring,
} from './keyring.js';
export {
  type RotationReport,
  retireKeyVersion,
  rotateAlertWebhooks,
  rotateCredentials,
  type WebhookRotationReport,
} from './rotation.js';
export { type CredentialInput, loadCredential, storeCredential } from './store-credential.js';
export { createVault, type SealedCredential, type SecretFields, type Vault } from './vault.js';
export { VaultError, type VaultErrorCode } from './vault-error.js';
