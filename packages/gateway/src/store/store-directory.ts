import { AuthenticationError, type Credential, NotFoundError } from '@keyhold/core';
import type { Kysely } from 'kysely';
import type {
  Awaitable,
  CredentialRef,
  DeploymentMode,
  Directory,
  DirectoryChange,
  Membership,
} from '../routing/directory.js';
import type { Vault } from '../vault/vault.js';
import { getAlertWebhookRow } from './alert-webhooks.js';
import { type CredentialTouches, createCredentialTouches } from './credential-touches.js';
import {
  type ChangeListenerOptions,
  type ChangeSource,
  listenForDirectoryChanges,
} from './directory-changes.js';
import { groupsOfUser } from './groups.js';
import type { CredentialRow, Schema } from './schema.js';
import { withTenant } from './tenant-scope.js';
import {
  toAlertWebhookSettings,
  toCredentialRecord,
  toDirectoryTenant,
  toOperatorKeyRecord,
  toVirtualKeyRecord,
} from './to-directory-records.js';

export interface StoreDirectoryOptions {
  db: Kysely<Schema>;
  vault: Vault;
  mode: DeploymentMode;
  /**
   * Where change notices come from (`changeSourceOf(database)`). Absent: no notices, and caches
   * above this directory only learn of changes when their entries expire.
   */
  changes?: ChangeSource;
  /** How long a sealed credential row is kept for `open` (ms, default 30 s, like the cache above). */
  sealedTtlMs?: number;
  /**
   * How long `open` reuses what it decrypted from one sealed row (ms, default 10 s; 0: decrypt on
   * every call). The opened credential belongs to the remembered row: a change notice, a reload
   * of the row or the row's own expiry drops both together (see `open`).
   */
  openedTtlMs?: number;
  /** How often last-used times are written (ms, default 5 s). */
  touchIntervalMs?: number;
  /** Told about background failures: the change listener's connection, last-used writes. */
  onError?: (error: Error) => void;
  /** Reconnection backoff of the change listener. */
  retryMs?: ChangeListenerOptions['retryMs'];
}

export interface StoreDirectory extends Directory {
  /** Resolves once the change listener is subscribed. */
  readonly ready: Promise<void>;
  /** Writes pending last-used times now. */
  flushTouches(): Promise<void>;
  subscribe(listener: (change: DirectoryChange) => void): () => void;
  close(): Promise<void>;
}

/** The columns `open` needs: the sealed blob and what it is bound to. No plaintext ever. */
type SealedRow = Pick<
  CredentialRow,
  'id' | 'tenantId' | 'ownerKind' | 'ownerId' | 'provider' | 'ciphertext' | 'fields' | 'status'
>;

/**
 * The gateway's directory over the PostgreSQL store. Tenant-scoped reads run inside
 * `withTenant` (row-level security: a forged id finds nothing of another tenant); lookups that
 * precede knowing the tenant (a virtual key by its hash) and operator keys run in system scope.
 *
 * Secrets: `open` decrypts at call time through the vault. It keeps the sealed row (the
 * ciphertext, useless without the master key), primed by `listCredentials`, so a warm request
 * does no database round trip; change notices and a TTL drop those rows like every other cache
 * entry. Beside a row it keeps what it decrypted from it for at most `openedTtlMs` (10 s), so a
 * busy tenant's key is opened once per interval rather than on every request (AES-GCM through
 * OpenSSL, parsing and the `Secret`s: ~5 µs in a loop, ~20 µs inside a request; bench/README.md).
 * That is no longer exposure than decrypting per call gives in a garbage-collected runtime: each
 * call's plaintext lives on as an unzeroable string in the heap until collected either way. The opened credential holds its secrets as `Secret`s and
 * lives and dies with its sealed row: a rotation, revocation or any credential change replaces
 * or drops the row, and the plaintext with it. Each `open` records the credential's last use,
 * written in batches off the request path.
 *
 * Wrap it in `createDirectoryCache` (the gateway does): this directory itself caches only
 * sealed rows.
 *
 * @example
 * const database = await createDatabase({ url: process.env.DATABASE_URL, dataDir });
 * const directory = createStoreDirectory({
 *   db: database.db, vault: createVault({ keyring: loadKeyring() }), mode: 'shared',
 *   changes: changeSourceOf(database),
 * });
 */
export function createStoreDirectory(options: StoreDirectoryOptions): StoreDirectory {
  const { db, vault, mode } = options;
  const ttl = options.sealedTtlMs ?? 30_000;
  const openedTtl = options.openedTtlMs ?? 10_000;
  const report = (error: unknown) =>
    options.onError?.(error instanceof Error ? error : new Error('directory background work failed'));
  const sealed = new Map<string, SealedEntry>();
  const listeners = new Set<(change: DirectoryChange) => void>();
  const touches: CredentialTouches = createCredentialTouches(db, {
    ...(options.touchIntervalMs !== undefined ? { intervalMs: options.touchIntervalMs } : {}),
    onError: report,
  });

  const remember = (row: SealedRow): SealedEntry => {
    if (sealed.size >= 100_000) sealed.delete(sealed.keys().next().value as string);
    const entry: SealedEntry = {
      row: sealedOf(row),
      expires: Date.now() + ttl,
      touched: -1,
      opened: undefined,
      openedUntil: 0,
    };
    sealed.set(row.id, entry);
    return entry;
  };

  const forget = (change: DirectoryChange) => {
    switch (change.kind) {
      case 'tenant':
      case 'credentials':
        for (const [id, entry] of sealed) if (entry.row.tenantId === change.tenantId) sealed.delete(id);
        break;
      case 'operator-keys':
        for (const [id, entry] of sealed) if (entry.row.ownerKind === 'operator') sealed.delete(id);
        break;
      case 'all':
        sealed.clear();
        break;
      case 'virtual-key':
      case 'egress-allow-list':
        break;
    }
  };

  const onChange = (change: DirectoryChange) => {
    // Our own rows first, so a listener that reloads at once reads fresh data.
    forget(change);
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        report(error);
      }
    }
  };

  const listener = options.changes
    ? listenForDirectoryChanges(options.changes, onChange, {
        onError: report,
        ...(options.retryMs ? { retryMs: options.retryMs } : {}),
      })
    : undefined;

  /** Tenant-scoped work; a tenant id that is not a UUID cannot exist in the store. */
  const scoped = async <T>(tenantId: string, empty: T, fn: (trx: Kysely<Schema>) => Promise<T>) =>
    UUID.test(tenantId) ? withTenant(db, tenantId, fn) : empty;

  /** The credential `ref` names, read from the store and remembered; its cache entry. */
  const loadSealed = async (ref: CredentialRef): Promise<SealedEntry | undefined> => {
    if (!UUID.test(ref.id)) return undefined;
    // System scope: the ref comes from this directory's own listings, not from a client.
    let query = db
      .selectFrom('credentials')
      .select(['id', 'tenantId', 'ownerKind', 'ownerId', 'provider', 'ciphertext', 'fields', 'status'])
      .where('id', '=', ref.id);
    query =
      ref.kind === 'operator'
        ? query.where('ownerKind', '=', 'operator')
        : query.where('ownerKind', '<>', 'operator');
    const row = await query.executeTakeFirst();
    return row && remember(row);
  };

  /**
   * Decrypts a sealed row for one call, once the row is known to be the one `ref` names. A
   * refusal is a rejected promise, never a throw, so `open` always fails the same way.
   */
  const openRow = (
    ref: CredentialRef,
    row: SealedRow | undefined,
    entry: SealedEntry | undefined,
    now: number,
  ): Awaitable<Credential> => {
    if (!row) return Promise.reject(new NotFoundError(`Credential ${ref.id} no longer exists`));
    if (row.status !== 'active') {
      // The listing the caller chose from was stale: never serve a revoked or invalid key.
      return Promise.reject(
        new AuthenticationError(`Credential ${row.id} is ${row.status}`, { provider: row.provider }),
      );
    }
    let credential: Credential;
    // `row` is `entry.row`: a reloaded row is a new entry, so nothing opened from an old one is reused.
    if (entry !== undefined && entry.opened !== undefined && entry.openedUntil > now) {
      credential = entry.opened;
    } else {
      try {
        credential = vault.open(row);
      } catch (error) {
        return Promise.reject(error);
      }
      if (entry !== undefined && openedTtl > 0) {
        entry.opened = credential;
        entry.openedUntil = Math.min(now + openedTtl, entry.expires);
      }
    }
    // Last use is written in batches with one time per batch: a row already recorded in the
    // pending batch needs no second entry (a hash-table write saved on every warm request).
    if (entry === undefined || entry.touched !== touches.generation) {
      touches.touch(row.id);
      if (entry) entry.touched = touches.generation;
    }
    return credential;
  };

  return {
    mode,
    ready: listener?.ready ?? Promise.resolve(),

    async getTenant(tenantId) {
      const found = await scoped(tenantId, undefined, async (trx) => {
        const row = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
        return row && { row, webhook: await getAlertWebhookRow(trx, tenantId) };
      });
      if (!found) return undefined;
      // The webhook secret stays sealed in the (cached) tenant: decrypted only to sign an alert.
      const webhook = found.webhook && toAlertWebhookSettings(found.webhook, vault.keyring);
      return toDirectoryTenant(found.row, webhook);
    },

    async getUser(tenantId, userId) {
      if (!UUID.test(userId)) return undefined;
      const row = await scoped(tenantId, undefined, (trx) =>
        trx
          .selectFrom('users')
          .select(['id', 'tenantId'])
          .where('tenantId', '=', tenantId)
          .where('id', '=', userId)
          .executeTakeFirst(),
      );
      // The store has no user status yet: a user that exists is active.
      return row && { id: row.id, tenantId: row.tenantId, status: 'active' as const };
    },

    async listMemberships(tenantId, userId): Promise<Membership[]> {
      if (!UUID.test(userId)) return [];
      const rows = await scoped(tenantId, [], (trx) => groupsOfUser(trx, tenantId, userId));
      return rows.map((m) => ({ groupId: m.groupId, userId: m.userId, useCredentials: m.mayUseCredentials }));
    },

    async findVirtualKey(hash) {
      if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
      // System scope: the tenant is what this lookup finds out.
      const row = await db
        .selectFrom('virtualKeys')
        .selectAll()
        .where('keyHash', '=', hash)
        .executeTakeFirst();
      return row && toVirtualKeyRecord(row);
    },

    async listCredentials(tenantId, provider) {
      const rows = await scoped(tenantId, [], (trx) =>
        trx
          .selectFrom('credentials')
          .selectAll()
          .where('tenantId', '=', tenantId)
          .where('provider', '=', provider)
          .orderBy('ownerKind')
          .orderBy('purpose')
          .orderBy('id')
          .execute(),
      );
      for (const row of rows) remember(row);
      return rows.filter((row) => row.ownerKind !== 'operator').map(toCredentialRecord);
    },

    async listOperatorKeys(provider) {
      const rows = await db
        .selectFrom('credentials')
        .selectAll()
        .where('ownerKind', '=', 'operator')
        .where('provider', '=', provider)
        // Every status: an invalid or revoked key must stop the chain, not be skipped.
        .orderBy('purpose')
        .orderBy('id')
        .execute();
      for (const row of rows) remember(row);
      return rows.map(toOperatorKeyRecord);
    },

    open(ref): Awaitable<Credential> {
      // A warm request finds the row remembered: decrypted at once, no await.
      const hit = sealed.get(ref.id);
      const now = Date.now();
      if (hit !== undefined && hit.expires > now) {
        // A ref names its kind: an operator ref never opens a tenant's credential, nor the reverse.
        const row = (hit.row.ownerKind === 'operator') === (ref.kind === 'operator') ? hit.row : undefined;
        return openRow(ref, row, hit, now);
      }
      return loadSealed(ref).then((entry) => openRow(ref, entry?.row, entry, Date.now()));
    },

    subscribe(listen) {
      listeners.add(listen);
      return () => listeners.delete(listen);
    },

    flushTouches: () => touches.flush(),

    async close() {
      listeners.clear();
      sealed.clear();
      await listener?.close();
      await touches.close();
    },
  };
}

/** A remembered sealed row, and what `open` decrypted from it while that may be reused. */
interface SealedEntry {
  row: SealedRow;
  expires: number;
  /** The touch generation this row's last use was recorded in (see `open`). */
  touched: number;
  /** The credential opened from `row`, reused until `openedUntil` (never past `expires`). */
  opened: Credential | undefined;
  openedUntil: number;
}

/** Only the columns `open` needs: a listing's row carries more (hint, times) we do not keep. */
function sealedOf(row: SealedRow): SealedRow {
  return {
    id: row.id,
    tenantId: row.tenantId,
    ownerKind: row.ownerKind,
    ownerId: row.ownerId,
    provider: row.provider,
    ciphertext: row.ciphertext,
    fields: row.fields ?? {},
    status: row.status,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
