export * from './audit-log.js';
export { type CredentialTouches, createCredentialTouches } from './credential-touches.js';
export * from './credentials.js';
export { type Backend, createDatabase, type Database, type DatabaseOptions } from './database.js';
export {
  type ChangeListener,
  type ChangeListenerOptions,
  type ChangeSource,
  changeSourceOf,
  DIRECTORY_CHANNEL,
  listenForDirectoryChanges,
  notifyDirectoryChange,
  parseDirectoryChange,
} from './directory-changes.js';
export * from './groups.js';
export { type MigrationReport, migrateToLatest } from './migrate.js';
export type * from './schema.js';
export { createStoreDirectory, type StoreDirectory, type StoreDirectoryOptions } from './store-directory.js';
export { TENANT_ROLE, withTenant } from './tenant-scope.js';
export * from './tenants.js';
export {
  toCredentialRecord,
  toDirectoryTenant,
  toOperatorKeyRecord,
  toTenantSettings,
  toVirtualKeyRecord,
} from './to-directory-records.js';
export {
  isUsageDimension,
  queryUsage,
  summarizeCredentialUsage,
  USAGE_DIMENSIONS,
  type UsageDimension,
  type UsageFilter,
  type UsageGroup,
  type UsageQuery,
  type UsageResult,
  type UsageTotals,
} from './usage-queries.js';
export * from './users.js';
export * from './vault-keys.js';
export * from './virtual-keys.js';
