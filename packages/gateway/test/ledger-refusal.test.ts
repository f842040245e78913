import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import type { Schema } from '../src/store/schema.js';
import { BACKENDS, type TestDatabase } from '../src/store/testing/backends.js';
import { type LedgerGateway, startLedgerGateway } from './support/ledger-store.js';
import { openAIWire } from './support/metered-upstream.js';

/*
 * A gateway whose ledger cannot write to its database refuses new work: 503 in each API's own
 * error shape, `/readyz` 503 — and recovers by itself once a write succeeds. On PostgreSQL the
 * ledger's connection goes through a local TCP relay that the test shuts (the server becomes
 * unreachable); on PGlite, which has no network, the ledger's table is renamed away.
 */

const MODEL = 'openai/metered-model';

/** A TCP relay to PostgreSQL that can be cut (refusing and dropping connections) and restored. */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    restore: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}

for (const backend of BACKENDS) {
  describe(`gateway refuses work while the ledger cannot write, on ${backend}`, () => {
    let upstream: Upstream;
    let h: LedgerGateway;
    let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
    let ledgerDb: Kysely<Schema> | undefined;
    let cut: () => Promise<void>;
    let restore: () => Promise<void>;

    beforeAll(async () => {
      upstream = await startUpstream(openAIWire({ usage: { prompt: 5, completion: 3 } }));
      const viaRelay = (database: TestDatabase): Kysely<Schema> => {
        if (backend === 'pglite') return database.db;
        const url = new URL(database.url!);
        url.port = String(relay!.port);
        const pool = new pg.Pool({
          connectionString: url.toString(),
          max: 2,
          connectionTimeoutMillis: 1_000,
        });
        pool.on('error', () => undefined);
        ledgerDb = new Kysely<Schema>({
          dialect: new PostgresDialect({ pool }),
          plugins: [new CamelCasePlugin()],
        });
        return ledgerDb;
      };
      if (backend === 'postgres') relay = await startRelay(new URL(process.env.KEYHOLD_TEST_DATABASE_URL!));
      h = await startLedgerGateway(backend, upstream.url, {
        ledger: { flushIntervalMs: 20, maxLagMs: 300 },
        ledgerDb: viaRelay,
      });
      if (relay) {
        cut = relay.cut;
        restore = relay.restore;
      } else {
        cut = async () => {
          await sql`alter table usage_events rename to usage_events_away`.execute(h.database.db);
        };
        restore = async () => {
          await sql`alter table usage_events_away rename to usage_events`.execute(h.database.db);
        };
      }
    });
    afterAll(async () => {
      await h?.close();
      await ledgerDb?.destroy();
      await relay?.close();
      await upstream?.close();
    });

    const post = (path: string, body: unknown) =>
      fetch(`${h.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.tenant.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const chat = () =>
      post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    const ready = async () => (await fetch(`${h.url}/readyz`)).status;

    it('503 in the OpenAI and Anthropic formats and /readyz 503 while writes fail; recovers by itself', async () => {
      const served: string[] = [];
      const ok = await chat();
      expect(ok.status).toBe(200);
      served.push(ok.headers.get('x-request-id')!);
      expect(await ready()).toBe(200);

      await cut();
      try {
        // Admitted while the bound is not reached; its event waits in the journal.
        const during = await chat();
        expect(during.status).toBe(200);
        served.push(during.headers.get('x-request-id')!);
        await until(async () => (await ready()) === 503, 5_000);
        const calls = upstream.requests.length;

        const refused = await chat();
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(refused.headers.get('x-request-id')).toBeTruthy();
        expect(await refused.json()).toEqual({
          error: {
            message: expect.stringContaining('Usage cannot be recorded'),
            type: 'server_error',
            param: null,
            code: 'usage_ledger_unavailable',
          },
        });
        const embeddings = await post('/v1/embeddings', { model: MODEL, input: 'a' });
        expect(embeddings.status).toBe(503);
        expect(((await embeddings.json()) as { error: { code: string } }).error.code).toBe(
          'usage_ledger_unavailable',
        );
        const messages = await post('/v1/messages', {
          model: MODEL,
          max_tokens: 10,
          messages: [{ role: 'user', content: 'Hi' }],
        });
        expect(messages.status).toBe(503);
        expect(await messages.json()).toEqual({
          type: 'error',
          error: { type: 'overloaded_error', message: expect.stringContaining('Usage cannot be recorded') },
        });
        // Refused before any upstream call.
        expect(upstream.requests.length).toBe(calls);
        expect(h.ledger.stats().failedFlushes).toBeGreaterThan(0);
      } finally {
        await restore();
      }

      await until(async () => (await ready()) === 200, 5_000);
      const after = await chat();
      expect(after.status).toBe(200);
      served.push(after.headers.get('x-request-id')!);
      await h.ledger.flush();
      const rows = await h.database.db.selectFrom('usageEvents').select(['requestId', 'status']).execute();
      expect(rows.map((r) => r.requestId).sort()).toEqual([...served].sort());
      expect(h.logs.join('')).toContain('the database accepts writes again');
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
