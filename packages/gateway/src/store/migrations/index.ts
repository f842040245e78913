import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';
import * as rowLevelSecurity from './0002-row-level-security.js';
import * as egressAllowList from './0003-egress-allow-list.js';
import * as usageLedger from './0004-usage-ledger.js';
import * as tenantWebhooks from './0005-tenant-webhooks.js';

/**
 * Every migration, defined in code (no directory scan, so a bundled build keeps them). Kysely
 * runs them in name order; a name, once released, never changes.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_row_level_security': rowLevelSecurity,
  '0003_egress_allow_list': egressAllowList,
  '0004_usage_ledger': usageLedger,
  '0005_tenant_webhooks': tenantWebhooks,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
