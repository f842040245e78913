import type { Kysely, Transaction } from 'kysely';
import type { Schema } from '../store/schema.js';
import { withTenant } from '../store/tenant-scope.js';

/**
 * Runs `fn` in one transaction: scoped by row-level security to `tenantId` when it is given (so
 * even a forged id in a query finds nothing of another tenant), with system scope otherwise
 * (operator-wide objects).
 */
export function inScope<T>(
  db: Kysely<Schema>,
  tenantId: string | null,
  fn: (trx: Transaction<Schema>) => Promise<T>,
): Promise<T> {
  return tenantId ? withTenant(db, tenantId, fn) : db.transaction().execute(fn);
}
