import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from './database.js';

describe('PGliteDialect', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createDatabase({ migrate: false });
    await sql`create table counters (name text primary key, value integer not null)`.execute(database.db);
  });
  afterAll(() => database.close());

  it('commits a transaction and rolls back a failed one', async () => {
    const { db } = database;
    await db.transaction().execute((trx) => sql`insert into counters values ('a', 1)`.execute(trx));
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into counters values ('b', 1)`.execute(trx);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const { rows } = await sql<{ name: string }>`select name from counters order by name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual(['a']);
  });

  it('keeps queries from outside a transaction out of it', async () => {
    const { db } = database;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const transaction = db.transaction().execute(async (trx) => {
      await sql`insert into counters values ('inside', 1)`.execute(trx);
      await gate;
      throw new Error('roll back');
    });
    // Issued while the transaction is open: it must wait, not join it and not see its row.
    const outside = sql<{ n: number }>`select count(*)::int as n from counters where name = 'inside'`.execute(
      db,
    );
    release();
    await expect(transaction).rejects.toThrow('roll back');
    expect((await outside).rows[0]?.n).toBe(0);
  });

  it('serialises concurrent read-modify-write transactions', async () => {
    const { db } = database;
    await sql`insert into counters values ('c', 0)`.execute(db);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ value: number }>`select value from counters where name = 'c'`.execute(
            trx,
          );
          await new Promise((r) => setTimeout(r, 1));
          await sql`update counters set value = ${(rows[0]?.value ?? 0) + 1} where name = 'c'`.execute(trx);
        }),
      ),
    );
    const { rows } = await sql<{ value: number }>`select value from counters where name = 'c'`.execute(db);
    expect(rows[0]?.value).toBe(20);
  });

  it('lets timers and I/O run during a long chain of queries', async () => {
    const { db } = database;
    let timerFired = false;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    let queries = 0;
    while (!timerFired && queries < 2000) {
      await sql`select 1`.execute(db);
      queries++;
    }
    expect(timerFired).toBe(true);
    expect(queries).toBeLessThan(2000);
  });

  it('supports savepoints inside a transaction', async () => {
    const { db } = database;
    const trx = await db.startTransaction().execute();
    await sql`insert into counters values ('s1', 1)`.execute(trx);
    const inner = await trx.savepoint('inner').execute();
    await sql`insert into counters values ('s2', 1)`.execute(inner);
    await inner.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    const { rows } = await sql<{
      name: string;
    }>`select name from counters where name like 's%' order by name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual(['s1']);
  });

  it('reports affected rows of updates', async () => {
    const { rows, numAffectedRows } = await sql`update counters set value = value + 1`.execute(database.db);
    expect(rows).toEqual([]);
    expect(numAffectedRows).toBe(3n);
  });

  it('keeps data in a data directory across restarts', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = await mkdtemp(join(tmpdir(), 'keyhold-pglite-'));
    try {
      const first = await createDatabase({ dataDir });
      await first.db.insertInto('tenants').values({ name: 'kept', settings: '{}' }).execute();
      await first.close();
      const second = await createDatabase({ dataDir });
      const names = await second.db.selectFrom('tenants').select('name').execute();
      await second.close();
      expect(names).toEqual([{ name: 'kept' }]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
