import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../../store/testing/backends.js';
import type { UsageEvent } from '../usage-sink.js';
import { toLedgerId } from './to-usage-row.js';
import { openUsageLedger, type UsageLedger, type UsageLedgerOptions } from './usage-ledger.js';

const TENANTS = [randomUUID(), randomUUID()];
const USERS = [randomUUID(), undefined];
const KEYS = [randomUUID(), randomUUID(), randomUUID()];
const CREDENTIALS = [randomUUID(), undefined];
const DAY = Date.UTC(2026, 2, 14, 12);

/** A varied event: two tenants, users, keys, credentials, models, three days, some failures. */
function event(i: number, run: string): UsageEvent {
  const failed = i % 7 === 0;
  return {
    requestId: `${run}-${i}`,
    attempt: i % 3 === 0 ? 1 : 0,
    tenantId: TENANTS[i % 2]!,
    ...(USERS[i % 2] ? { userId: USERS[i % 2]! } : {}),
    virtualKeyId: KEYS[i % 3]!,
    ...(CREDENTIALS[i % 2] ? { credentialId: CREDENTIALS[i % 2]! } : {}),
    keySource: i % 2 === 0 ? 'user' : 'operator',
    provider: 'openai',
    model: i % 4 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    operation: i % 5 === 0 ? 'embedding' : 'chat',
    inputTokens: failed ? 0 : 10 + (i % 13),
    outputTokens: failed ? 0 : 3 + (i % 29),
    ...(i % 6 === 0 ? { cachedInputTokens: 4, reasoningTokens: 2 } : {}),
    ...(i % 10 === 0 ? { cacheWriteInputTokens: 1 } : {}),
    costMicros: failed ? 0 : 100 + i,
    priced: true,
    estimated: i % 11 === 0,
    latencyMs: 12.345 + (i % 50),
    status: failed ? 'error' : 'ok',
    ...(failed ? { errorClass: 'provider_unavailable', upstreamStatus: 503 } : {}),
    // Three UTC days, each event near the day's end so that the day boundary matters.
    at: DAY + (i % 3) * 86_400_000 + 11 * 3_600_000 + (i % 3_000_000),
  } as UsageEvent;
}

const SUMS = `count(*)::text as requests,
  (count(*) filter (where status = 'error'))::text as errors,
  (count(*) filter (where estimated))::text as estimated_requests,
  sum(input_tokens)::text as input_tokens, sum(output_tokens)::text as output_tokens,
  sum(cached_input_tokens)::text as cached, sum(cache_write_input_tokens)::text as cache_write,
  sum(reasoning_tokens)::text as reasoning, sum(cost_micros)::text as cost_micros,
  sum(latency_ms)::text as latency, max(occurred_at) as last_at`;
const DIMS = `tenant_id, provider, model, operation, user_id, virtual_key_id, credential_id, key_source`;

for (const backend of BACKENDS) {
  describe(`usage ledger writer on ${backend}`, () => {
    let database: TestDatabase;
    const dirs: string[] = [];
    const open: UsageLedger[] = [];

    beforeAll(async () => {
      database = await openTestDatabase(backend);
    });
    afterEach(async () => {
      for (const ledger of open.splice(0)) await ledger.close();
    });
    afterAll(async () => {
      await database?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const newDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'keyhold-ledger-'));
      dirs.push(dir);
      return dir;
    };
    const ledgerOn = async (dir: string, options: Partial<UsageLedgerOptions> = {}) => {
      const ledger = await openUsageLedger({ db: database.db, dir, ...options });
      open.push(ledger);
      return ledger;
    };
    const segmentsIn = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('usage-'));

    /** The rollup, and the same sums computed from `usage_events`, for the rows of one run. */
    async function rollupAndEvents(run: string) {
      const { rows: rollup } = await sql
        .raw<Record<string, unknown>>(
          `select ${DIMS}, day::text as day, requests::text, errors::text, estimated_requests::text,
             input_tokens::text, output_tokens::text, cached_input_tokens::text as cached,
             cache_write_input_tokens::text as cache_write, reasoning_tokens::text as reasoning,
             cost_micros::text, latency_ms_total::text as latency, last_at
           from usage_daily where model like '${run}%' order by ${DIMS}, day`,
        )
        .execute(database.db);
      const { rows: summed } = await sql
        .raw<Record<string, unknown>>(
          `select ${DIMS}, ((occurred_at at time zone 'UTC')::date)::text as day, ${SUMS}
           from usage_events where model like '${run}%'
           group by ${DIMS}, day order by ${DIMS}, day`,
        )
        .execute(database.db);
      return { rollup, summed };
    }

    it('batches: 1 200 events in three statements; the rollup is exactly the sums of the events', async () => {
      const run = `b${randomUUID().slice(0, 8)}`;
      const ledger = await ledgerOn(newDir(), { flushIntervalMs: 10_000 });
      const events = Array.from({ length: 1200 }, (_, i) => ({ ...event(i, run), model: `${run}-${i % 4}` }));
      for (const e of events) ledger.record(e);
      await ledger.flush();
      expect(ledger.stats()).toMatchObject({
        recorded: 1200,
        stored: 1200,
        duplicates: 0,
        flushes: 3,
        pending: 0,
      });

      const { rows } = await sql<{ n: string; input: string; cost: string }>`
        select count(*)::text as n, sum(input_tokens)::text as input, sum(cost_micros)::text as cost
        from usage_events where request_id like ${`${run}-%`}`.execute(database.db);
      expect(rows[0]).toEqual({
        n: '1200',
        input: String(events.reduce((s, e) => s + e.inputTokens, 0)),
        cost: String(events.reduce((s, e) => s + e.costMicros, 0)),
      });
      const { rollup, summed } = await rollupAndEvents(run);
      expect(rollup.length).toBeGreaterThan(10);
      expect(rollup).toEqual(summed);
      // Mapped as stored: whole milliseconds, absent ids as NULL, the UTC day of `at`.
      const first = await database.db
        .selectFrom('usageEvents')
        .selectAll()
        .where('requestId', '=', `${run}-1`)
        .executeTakeFirstOrThrow();
      expect(first).toMatchObject({
        attempt: 0,
        tenantId: TENANTS[1],
        userId: null,
        credentialId: null,
        latencyMs: 13,
        status: 'ok',
        errorClass: null,
      });
      expect(first.occurredAt.getTime()).toBe(events[1]!.at);
    });

    it('replays are idempotent: the same events again add no rows and leave the rollup exact', async () => {
      const run = `r${randomUUID().slice(0, 8)}`;
      const events = Array.from({ length: 600 }, (_, i) => ({ ...event(i, run), model: `${run}-${i % 3}` }));
      const first = await ledgerOn(newDir(), { flushIntervalMs: 5 });
      for (const e of events) first.record(e);
      await first.flush();
      const before = await rollupAndEvents(run);

      const second = await ledgerOn(newDir(), { flushIntervalMs: 5 });
      for (const e of [...events, ...events.slice(0, 100)]) second.record(e);
      await second.flush();
      expect(second.stats()).toMatchObject({ stored: 0, duplicates: 700 });
      const after = await rollupAndEvents(run);
      expect(after.rollup).toEqual(before.rollup);
      expect(after.rollup).toEqual(after.summed);
      const { rows } = await sql<{ n: string }>`
        select count(*)::text as n from usage_events where request_id like ${`${run}-%`}`.execute(
        database.db,
      );
      expect(rows[0]!.n).toBe('600');
    });

    it('a writer dropped without flushing: the next writer on its journal replays every event before it opens', async () => {
      const run = `c${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      // Nothing reaches the database on its own: no timer within the test, no full batch.
      const crashed = await openUsageLedger({
        db: database.db,
        dir,
        flushIntervalMs: 600_000,
        batchSize: 100_000,
        segmentEvents: 100,
      });
      const events = Array.from({ length: 250 }, (_, i) => ({ ...event(i, run), model: `${run}-m` }));
      for (const e of events) crashed.record(e);
      // Recorded in one turn: one journal write per segment they fill.
      expect(crashed.stats().recorded).toBe(250);
      await crashed.durable();
      expect(crashed.durable()).toBeUndefined();
      expect(segmentsIn(dir)).toHaveLength(3);
      // A crash in the middle of a write leaves a torn last line.
      const last = join(dir, segmentsIn(dir).sort().at(-1)!);
      appendFileSync(last, '{"request_id":"torn-li');
      const stored = async () =>
        (
          await sql<{
            n: string;
          }>`select count(*)::text as n from usage_events where request_id like ${`${run}-%`}`.execute(
            database.db,
          )
        ).rows[0]!.n;
      expect(await stored()).toBe('0');

      const restarted = await ledgerOn(dir);
      expect(restarted.stats()).toMatchObject({ replayed: 250, stored: 250, pending: 0 });
      expect(await stored()).toBe('250');
      expect(segmentsIn(dir)).toEqual([]);
      const { rollup, summed } = await rollupAndEvents(run);
      expect(rollup).toEqual(summed);
    });

    it('journal files are deleted once every event in them is stored', async () => {
      const run = `s${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      const ledger = await ledgerOn(dir, {
        flushIntervalMs: 600_000,
        batchSize: 100_000,
        segmentEvents: 100,
      });
      for (let i = 0; i < 350; i++) ledger.record({ ...event(i, run), model: run });
      await ledger.durable();
      expect(segmentsIn(dir)).toHaveLength(4);
      const lines = segmentsIn(dir)
        .sort()
        .map((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).length);
      expect(lines).toEqual([100, 100, 100, 50]);
      await ledger.flush();
      expect(segmentsIn(dir)).toEqual([]);
      ledger.record({ ...event(350, run), model: run });
      await ledger.durable();
      expect(segmentsIn(dir)).toHaveLength(1);
      await ledger.flush();
      expect(segmentsIn(dir)).toEqual([]);
    });

    it('journals the events of one event-loop turn together at its end, before durable() resolves', async () => {
      const run = `g${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      const ledger = await ledgerOn(dir, { flushIntervalMs: 600_000, batchSize: 100_000 });
      const lines = () =>
        segmentsIn(dir).reduce(
          (n, f) => n + readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).length,
          0,
        );
      expect(ledger.durable()).toBeUndefined();
      for (let i = 0; i < 3; i++) ledger.record({ ...event(i, run), model: run });
      expect(lines()).toBe(0);
      const durable = ledger.durable();
      expect(durable).toBeInstanceOf(Promise);
      expect(ledger.durable()).toBe(durable);
      await durable;
      expect(lines()).toBe(3);
      expect(ledger.durable()).toBeUndefined();
      // Without anyone waiting, the turn's end writes them all the same.
      ledger.record({ ...event(3, run), model: run });
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines()).toBe(4);
      await ledger.flush();
      expect(ledger.stats()).toMatchObject({ stored: 4, pending: 0 });
    });

    it('replays a journal written by an earlier version (usage events, not rows)', async () => {
      const run = `v${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      mkdirSync(dir, { recursive: true });
      const old = Array.from({ length: 5 }, (_, i) => ({ ...event(i, run), model: `${run}-m` }));
      appendFileSync(
        join(dir, `usage-${String(Date.now()).padStart(13, '0')}-000001.jsonl`),
        old.map((e) => `${JSON.stringify(e)}\n`).join(''),
      );
      const ledger = await ledgerOn(dir);
      expect(ledger.stats()).toMatchObject({ replayed: 5, stored: 5, pending: 0 });
      const { rows } = await sql<{ requestId: string; model: string }>`
        select request_id, model from usage_events where request_id like ${`${run}-%`} order by request_id
      `.execute(database.db);
      expect(rows.map((r) => r.requestId)).toEqual(old.map((e) => e.requestId).sort());
      expect(rows.every((r) => r.model === `${run}-m`)).toBe(true);
      expect(segmentsIn(dir)).toEqual([]);
    });

    it('an event the database refuses is set aside; the rest of its batch is stored', async () => {
      const run = `x${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      const ledger = await ledgerOn(dir, { flushIntervalMs: 600_000 });
      ledger.record({ ...event(1, run), model: run });
      // Longer than the column allows (200): a check violation.
      ledger.record({ ...event(2, run), model: run, requestId: `${run}-${'z'.repeat(300)}` });
      ledger.record({ ...event(3, run), model: run });
      await ledger.flush();
      expect(ledger.stats()).toMatchObject({ stored: 2, rejected: 1, pending: 0 });
      const rejected = readFileSync(join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n');
      expect(rejected).toHaveLength(1);
      expect(JSON.parse(rejected[0]!).request_id).toHaveLength(run.length + 301);
      expect(segmentsIn(dir)).toEqual([]);
      expect(ledger.accepting()).toBe(true);
    });

    it('ids that are not UUIDs (config-file names) are stored as stable name-based UUIDs', async () => {
      const run = `n${randomUUID().slice(0, 8)}`;
      const ledger = await ledgerOn(newDir());
      ledger.record({
        ...event(1, run),
        model: run,
        tenantId: 'acme',
        userId: 'ada',
        virtualKeyId: 'k-1',
        credentialId: 'c',
      });
      await ledger.flush();
      const row = await database.db
        .selectFrom('usageEvents')
        .selectAll()
        .where('model', '=', run)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        tenantId: toLedgerId('acme'),
        userId: toLedgerId('ada'),
        virtualKeyId: toLedgerId('k-1'),
        credentialId: toLedgerId('c'),
      });
      expect(toLedgerId('acme')).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(toLedgerId('acme')).not.toBe(toLedgerId('acme2'));
      expect(toLedgerId(TENANTS[0]!.toUpperCase())).toBe(TENANTS[0]);
      // Ids are remembered, up to a cap: past it they are computed again, to the same value.
      const acme = toLedgerId('acme');
      for (let i = 0; i <= 10_000; i++) toLedgerId(`name-${i}`);
      expect(toLedgerId('acme')).toBe(acme);
    });

    it('refuses work while the database fails beyond maxLagMs, and recovers when a write succeeds', async () => {
      const run = `f${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      const ledger = await ledgerOn(dir, { flushIntervalMs: 10, maxLagMs: 200 });
      await sql`alter table usage_events rename to usage_events_away`.execute(database.db);
      try {
        ledger.record({ ...event(1, run), model: run });
        expect(ledger.accepting()).toBe(true);
        await expect(ledger.flush()).rejects.toThrow();
        await waitFor(() => !ledger.accepting(), 2_000);
        expect(ledger.stats().failedFlushes).toBeGreaterThan(1);
        expect(segmentsIn(dir)).toHaveLength(1);
      } finally {
        await sql`alter table usage_events_away rename to usage_events`.execute(database.db);
      }
      await waitFor(() => ledger.accepting(), 3_000);
      expect(ledger.stats()).toMatchObject({ stored: 1, pending: 0 });
      expect(segmentsIn(dir)).toEqual([]);
    });

    it('refuses work while the journal cannot be written, and recovers when it can', async () => {
      const run = `j${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      // One event per file: every record opens a new file, which fails once the directory is gone.
      const ledger = await ledgerOn(dir, { flushIntervalMs: 600_000, segmentEvents: 1 });
      ledger.record({ ...event(1, run), model: run });
      await ledger.durable();
      rmSync(dir, { recursive: true });
      ledger.record({ ...event(2, run), model: run });
      await ledger.durable();
      expect(ledger.accepting()).toBe(false);
      // Still written to the database from memory.
      await ledger.flush();
      expect(ledger.stats()).toMatchObject({ stored: 2 });
      expect(ledger.accepting()).toBe(false);
      mkdirSync(dir, { mode: 0o700 });
      await waitFor(() => ledger.accepting(), 2_000);
      ledger.record({ ...event(3, run), model: run });
      await ledger.durable();
      expect(ledger.accepting()).toBe(true);
      await ledger.flush();
      expect(segmentsIn(dir)).toEqual([]);
    });

    it('fsync mode stores the same way', async () => {
      const run = `y${randomUUID().slice(0, 8)}`;
      const dir = newDir();
      const ledger = await ledgerOn(dir, { fsync: true, segmentEvents: 10 });
      for (let i = 0; i < 25; i++) ledger.record({ ...event(i, run), model: run });
      await ledger.flush();
      expect(ledger.stats()).toMatchObject({ stored: 25, pending: 0 });
      expect(segmentsIn(dir)).toEqual([]);
    });
  });
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
