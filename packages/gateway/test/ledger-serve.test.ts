import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe } from '../src/cli/testing/run-keyhold.js';
import { openUsageLedger } from '../src/metering/ledger/usage-ledger.js';
import { createDatabase } from '../src/store/database.js';

/*
 * `keyhold serve` on the embedded store journals usage under `<data-dir>/ledger`: after a
 * `kill -9`, every call that completed at the client is in the journal or already in the
 * database, and the journal replays into the (recovered) PGlite store.
 */

describe('keyhold serve on the embedded store, killed', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-ledger-serve-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('journals under <data-dir>/ledger; the journal replays into the store after kill -9', async () => {
    const server = await startServe(['--data-dir', dataDir], cleanEnv());
    const key = /kh_[0-9A-Za-z]{28}/.exec(server.stdout())![0];
    const ids: string[] = [];
    for (const stream of [false, true, false]) {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo', stream, messages: [{ role: 'user', content: 'Hello' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      ids.push(res.headers.get('x-request-id')!);
    }
    await new Promise<void>((resolve) => {
      server.child.once('exit', () => resolve());
      server.child.kill('SIGKILL');
    });
    expect(readdirSync(dataDir)).toContain('ledger');

    const database = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    try {
      const ledger = await openUsageLedger({ db: database.db, dir: join(dataDir, 'ledger') });
      await ledger.close();
      const rows = await database.db
        .selectFrom('usageEvents')
        .select(['requestId', 'status', 'provider', 'operation'])
        .execute();
      expect(rows.map((r) => r.requestId).sort()).toEqual([...ids].sort());
      expect(rows.every((r) => r.status === 'ok' && r.provider === 'fake' && r.operation === 'chat')).toBe(
        true,
      );
      expect(readdirSync(join(dataDir, 'ledger')).filter((f) => f.startsWith('usage-'))).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
