import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  PostgresDialect,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * A Kysely dialect over an in-process PGlite database. PGlite is a single connection: a Kysely
 * transaction holds that connection from `begin` to `commit`, so every acquisition waits its turn
 * in a FIFO queue and a query outside the transaction cannot slip into it.
 *
 * Consequence for callers: inside `db.transaction().execute(fn)`, `fn` must use its `trx`, never
 * the outer `db` — on PGlite the outer `db` waits for the transaction that waits for it.
 */
export class PGliteDialect extends PostgresDialect {
  readonly #pglite: PGlite;

  constructor(pglite: PGlite) {
    // The pool is never used: `createDriver` is overridden below.
    super({ pool: async () => Promise.reject(new Error('PGliteDialect has no pool')) });
    this.#pglite = pglite;
  }

  override createDriver(): Driver {
    return new PGliteDriver(this.#pglite);
  }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  readonly #queue = new AcquireQueue();

  constructor(pglite: PGlite) {
    this.#connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {
    await this.#connection.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // An in-memory PGlite answers without any I/O, so a chain of queries (a rotation, a busy
    // reader) would run entirely on the microtask queue and starve timers and sockets — the
    // HTTP server included. Yielding to the event loop once per acquisition keeps it fair.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.#queue.acquire();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.#queue.release();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) statement += ` ${settings.accessMode}`;
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteId(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteId(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteId(name)}`));
  }

  async destroy(): Promise<void> {
    if (!this.#connection.pglite.closed) await this.#connection.pglite.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(readonly pglite: PGlite) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(query.sql, [...query.parameters]);
    return {
      rows: result.rows,
      ...(result.affectedRows === undefined ? {} : { numAffectedRows: BigInt(result.affectedRows) }),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported; the method must exist.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGliteDialect does not support streaming queries');
  }
}

/** A FIFO mutex: one holder at a time, waiters served in arrival order. */
class AcquireQueue {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

function quoteId(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
