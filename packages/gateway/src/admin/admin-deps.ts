import type { Transport } from '@keyhold/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { SsrfPolicy } from '../egress/ssrf-policy.js';
import type { DirectoryChange } from '../routing/directory.js';
import type { Schema } from '../store/schema.js';
import type { Vault } from '../vault/vault.js';

/**
 * What an admin write changed, announced to every instance with `notifyDirectoryChange` in the
 * write's own transaction: directory data the gateway's caches drop, or the egress allow-list
 * that every instance's policy reloads.
 */
export type AdminChange = DirectoryChange;

export interface AdminDeps {
  db: Kysely<Schema>;
  vault: Vault;
  /** The operator's bootstrap token. Absent or empty: the admin API is off (every route 404s). */
  operatorToken?: string;
  /** Checks tenant-supplied endpoints on save and holds the operator's allow-list. */
  ssrf: SsrfPolicy;
  /**
   * Called after every committed change, besides the `notifyDirectoryChange` notice sent in the
   * change's transaction. Failures are logged, never turned into a failed response: the change
   * is already stored.
   */
  onChange?: (change: AdminChange) => void | Promise<void>;
  logger?: FastifyBaseLogger;
  /**
   * How `?validate=true` reaches providers (default: core's undici transport over
   * `createEgressAgent({ policy: ssrf })`, so validation obeys the egress policy too).
   */
  transport?: Transport;
  /** Per-attempt timeout of a validation call (ms, default 10 s). */
  validationTimeoutMs?: number;
}
