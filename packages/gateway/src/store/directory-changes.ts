import type { PGlite } from '@electric-sql/pglite';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { DirectoryChange } from '../routing/directory.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';

/**
 * Cross-instance cache invalidation over PostgreSQL's LISTEN / NOTIFY. Every admin write that
 * changes what the gateway resolves (a tenant, a virtual key, a credential, an operator key)
 * calls `notifyDirectoryChange` — ideally in the same transaction as the write, because NOTIFY
 * is transactional: the notice goes out on commit and never for a write that rolled back.
 * Every gateway instance listens on the channel and drops the affected cache entries.
 *
 * On PGlite (one process) the same SQL works: PGlite delivers its own notifications to its
 * `onNotification` listeners, so both backends share one code path.
 *
 * https://www.postgresql.org/docs/current/sql-notify.html
 */
export const DIRECTORY_CHANNEL = 'keyhold_directory';

/**
 * Announces a directory change to every gateway instance. Pass the transaction that made the
 * change (`trx`) so the notice is sent only if it commits.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await setCredentialStatus(trx, id, 'revoked');
 *   await notifyDirectoryChange(trx, { kind: 'credentials', tenantId });
 * });
 */
export async function notifyDirectoryChange(db: Kysely<Schema>, change: DirectoryChange): Promise<void> {
  await sql`select pg_notify(${DIRECTORY_CHANNEL}, ${JSON.stringify(change)})`.execute(db);
}

/**
 * Reads a notification payload back into a change. Anything unrecognised becomes `all`: a
 * notice we cannot read must still drop caches rather than leave them stale.
 */
export function parseDirectoryChange(payload: string): DirectoryChange {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { kind: 'all' };
  }
  if (typeof value !== 'object' || value === null) return { kind: 'all' };
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'tenant':
      return typeof v.tenantId === 'string' ? { kind: 'tenant', tenantId: v.tenantId } : { kind: 'all' };
    case 'credentials':
      return typeof v.tenantId === 'string' ? { kind: 'credentials', tenantId: v.tenantId } : { kind: 'all' };
    case 'virtual-key':
      return typeof v.hash === 'string' ? { kind: 'virtual-key', hash: v.hash } : { kind: 'all' };
    case 'operator-keys':
      return { kind: 'operator-keys' };
    case 'egress-allow-list':
      return { kind: 'egress-allow-list' };
    default:
      return { kind: 'all' };
  }
}

/** Where change notices come from: the embedded database itself, or a PostgreSQL server. */
export type ChangeSource = { pglite: PGlite; db: Kysely<unknown> } | { url: string };

/** The change source of an open store: its PGlite instance, or its server's URL. */
export function changeSourceOf(database: Database): ChangeSource {
  if (database.pglite) return { pglite: database.pglite, db: database.db as Kysely<unknown> };
  if (database.url) return { url: database.url };
  throw new TypeError('The database has neither an embedded instance nor a server URL');
}

export interface ChangeListenerOptions {
  /** Told about connection trouble (the listener keeps reconnecting). Never given a URL. */
  onError?: (error: Error) => void;
  /** First and longest wait between reconnection attempts (ms; default 100 and 5,000). */
  retryMs?: { initial: number; max: number };
}

export interface ChangeListener {
  /** Resolves once the listener is subscribed (the first connection succeeded or failed). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Listens for directory changes. On a PostgreSQL server a dedicated client (outside the query
 * pool: a pooled connection may be handed to someone else) runs `LISTEN keyhold_directory` and
 * reconnects with backoff when the connection drops. Notices sent while it was disconnected are
 * lost, so every reconnection reports `{ kind: 'all' }`: caches start over rather than trust
 * what they held.
 */
export function listenForDirectoryChanges(
  source: ChangeSource,
  onChange: (change: DirectoryChange) => void,
  options: ChangeListenerOptions = {},
): ChangeListener {
  if ('pglite' in source) return listenOnPGlite(source.pglite, source.db, onChange);
  return listenOnServer(source.url, onChange, options);
}

function listenOnPGlite(
  pglite: PGlite,
  db: Kysely<unknown>,
  onChange: (change: DirectoryChange) => void,
): ChangeListener {
  const off = pglite.onNotification((channel, payload) => {
    if (channel === DIRECTORY_CHANNEL) onChange(parseDirectoryChange(payload));
  });
  // Through Kysely, not `pglite.exec`: PGlite is one session, and the dialect's queue keeps the
  // LISTEN out of a transaction another caller holds (whose rollback would undo it).
  const ready = sql
    .raw(`listen ${DIRECTORY_CHANNEL}`)
    .execute(db)
    .then(() => undefined);
  return {
    ready,
    async close() {
      off();
    },
  };
}

function listenOnServer(
  url: string,
  onChange: (change: DirectoryChange) => void,
  options: ChangeListenerOptions,
): ChangeListener {
  const retry = options.retryMs ?? { initial: 100, max: 5_000 };
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = retry.initial;
  let connectedOnce = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const report = (error: unknown) => {
    // pg's connection errors name host and port at most, never the password; we still pass only
    // our own words plus the error code.
    const code = (error as { code?: string } | undefined)?.code;
    options.onError?.(new Error(`Directory change listener lost its connection${code ? ` (${code})` : ''}`));
  };

  const scheduleReconnect = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, retry.max);
  };

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client = next;
    let dropped = false;
    const drop = (error?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (!closed) {
        report(error);
        next.end().catch(() => undefined);
        scheduleReconnect();
      }
    };
    next.on('error', drop);
    next.on('end', () => drop());
    next.on('notification', (message) => {
      if (message.channel === DIRECTORY_CHANNEL) onChange(parseDirectoryChange(message.payload ?? ''));
    });
    try {
      await next.connect();
      await next.query(`listen ${DIRECTORY_CHANNEL}`);
      if (closed) {
        await next.end().catch(() => undefined);
        return;
      }
      delay = retry.initial;
      // What happened while we were not listening is unknown: everything is stale.
      if (connectedOnce) onChange({ kind: 'all' });
      connectedOnce = true;
      markReady();
    } catch (error) {
      markReady();
      drop(error);
    }
  };

  void connect();
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
