import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUsageBatch } from '../metering/ledger/insert-usage-batch.js';
import type { UsageRow } from '../metering/ledger/to-usage-row.js';
import type { Database } from './database.js';
import { withTenant } from './tenant-scope.js';
import { BACKENDS, openTestDatabase } from './testing/backends.js';
import {
  type FixtureEvent,
  type FixtureTenant,
  fixtureEvents,
  fixtureTenant,
  loadUsage,
  seededRandom,
} from './testing/usage-fixtures.js';
import {
  queryUsage,
  splitRange,
  summarizeCredentialUsage,
  type UsageDimension,
  type UsageTotals,
} from './usage-queries.js';

const START = new Date('2026-02-26T00:00:00Z');
const DAYS = 6;

/** The expected answer, folded in JavaScript from the events as generated (independent of SQL). */
function expected(
  events: readonly FixtureEvent[],
  from: Date,
  to: Date,
  groupBy: readonly UsageDimension[],
  keep: (e: FixtureEvent) => boolean = () => true,
): Map<string, UsageTotals> {
  const out = new Map<string, UsageTotals>();
  for (const e of events) {
    if (e.occurredAt < from || e.occurredAt >= to || !keep(e)) continue;
    const key = JSON.stringify(groupBy.map((d) => dimensionOf(e, d)));
    const t = out.get(key) ?? zero();
    t.requests += 1;
    t.errors += e.status === 'error' ? 1 : 0;
    t.estimatedRequests += e.estimated ? 1 : 0;
    t.inputTokens += e.inputTokens;
    t.outputTokens += e.outputTokens;
    t.cachedInputTokens += e.cachedInputTokens;
    t.cacheWriteInputTokens += e.cacheWriteInputTokens;
    t.reasoningTokens += e.reasoningTokens;
    t.costMicros += e.costMicros;
    t.latencyMsTotal += e.latencyMs;
    if (t.lastAt === null || e.occurredAt > t.lastAt) t.lastAt = e.occurredAt;
    out.set(key, t);
  }
  return out;
}

function dimensionOf(e: FixtureEvent, d: UsageDimension): string | null {
  switch (d) {
    case 'day':
      return e.occurredAt.toISOString().slice(0, 10);
    case 'month':
      return e.occurredAt.toISOString().slice(0, 7);
    case 'tenant':
      return e.tenantId;
    case 'user':
      return e.userId;
    case 'virtual_key':
      return e.virtualKeyId;
    case 'credential':
      return e.credentialId;
    case 'key_source':
      return e.keySource;
    default:
      return e[d];
  }
}

const zero = (): UsageTotals => ({
  requests: 0,
  errors: 0,
  estimatedRequests: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  reasoningTokens: 0,
  costMicros: 0,
  latencyMsTotal: 0,
  lastAt: null,
});

describe('splitRange', () => {
  it('reads whole UTC days from the rollup and only the partial edges from the events', () => {
    expect(splitRange(new Date('2026-03-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'))).toEqual({
      days: { from: '2026-03-01', to: '2026-04-01' },
      edges: [],
    });
    expect(splitRange(new Date('2026-03-01T10:30:00Z'), new Date('2026-03-04T06:00:00Z'))).toEqual({
      days: { from: '2026-03-02', to: '2026-03-04' },
      edges: [
        { from: new Date('2026-03-01T10:30:00Z'), to: new Date('2026-03-02T00:00:00Z') },
        { from: new Date('2026-03-04T00:00:00Z'), to: new Date('2026-03-04T06:00:00Z') },
      ],
    });
    // Within one day, or across one midnight only: no whole day at all.
    expect(splitRange(new Date('2026-03-01T10:00:00Z'), new Date('2026-03-02T09:00:00Z'))).toEqual({
      edges: [{ from: new Date('2026-03-01T10:00:00Z'), to: new Date('2026-03-02T09:00:00Z') }],
    });
    expect(splitRange(new Date('2026-03-02T00:00:00Z'), new Date('2026-03-01T00:00:00Z'))).toEqual({
      edges: [],
    });
  });
});

for (const backend of BACKENDS) {
  describe(`usage queries on ${backend}`, () => {
    let database: Database;
    let acme: FixtureTenant;
    let globex: FixtureTenant;
    let events: FixtureEvent[];

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      acme = fixtureTenant(4);
      globex = fixtureTenant(2);
      events = [
        ...fixtureEvents(acme, { count: 900, start: START, days: DAYS, seed: 1 }),
        ...fixtureEvents(globex, { count: 300, start: START, days: DAYS, seed: 2 }),
      ];
      await loadUsage(database.db, events);
    });
    afterAll(() => database?.close());

    it('the rollup it reads really has fewer rows than the events', async () => {
      const daily = await database.db
        .selectFrom('usageDaily')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(daily.n)).toBeGreaterThan(0);
      expect(Number(daily.n)).toBeLessThan(events.length);
    });

    it('groups and totals equal a direct sum over the events, for whole days and partial edges', async () => {
      const random = seededRandom(7);
      const groupings: UsageDimension[][] = [
        [],
        ['model', 'day'],
        ['day'],
        ['month', 'provider'],
        ['user', 'virtual_key'],
        ['credential', 'key_source', 'operation'],
      ];
      const span = DAYS * 86_400_000;
      const ranges: Array<[Date, Date]> = [
        [START, new Date(START.getTime() + span)], // whole days only
        [new Date('2026-02-27T00:00:00Z'), new Date('2026-03-02T00:00:00Z')], // across a month end
        [new Date('2026-02-26T13:17:05.250Z'), new Date('2026-03-03T07:00:00.001Z')], // both edges partial
        [new Date('2026-02-28T05:00:00Z'), new Date('2026-02-28T18:00:00Z')], // within one day
        [new Date('2026-02-27T22:00:00Z'), new Date('2026-02-28T02:00:00Z')], // across one midnight
      ];
      for (let i = 0; i < 6; i++) {
        const a = START.getTime() + Math.floor(random() * span);
        const b = START.getTime() + Math.floor(random() * span);
        ranges.push([new Date(Math.min(a, b)), new Date(Math.max(a, b) + 1)]);
      }
      for (const [from, to] of ranges) {
        for (const groupBy of groupings) {
          const result = await withTenant(database.db, acme.id, (trx) =>
            queryUsage(trx, { tenantId: acme.id, from, to, groupBy }),
          );
          const want = expected(events, from, to, groupBy, (e) => e.tenantId === acme.id);
          const got = new Map(
            result.groups.map((g) => [JSON.stringify(groupBy.map((d) => g.key[d] ?? null)), g.totals]),
          );
          const where = `${from.toISOString()}..${to.toISOString()} by ${groupBy.join(',') || '(none)'}`;
          expect(got, where).toEqual(want);
          expect(result.totals, where).toEqual([...want.values()].reduce((sum, t) => addAll(sum, t), zero()));
          expect(result.truncated).toBe(false);
        }
      }
    });

    it('matches SQL run directly over usage_events for the same range', async () => {
      const from = new Date('2026-02-26T09:45:00Z');
      const to = new Date('2026-03-03T21:10:00Z');
      const direct = await sql<{ requests: string; cost: string; input: string }>`
        select count(*)::text as requests, sum(cost_micros)::text as cost, sum(input_tokens)::text as input
        from usage_events
        where tenant_id = ${acme.id} and occurred_at >= ${from.toISOString()}::timestamptz
          and occurred_at < ${to.toISOString()}::timestamptz`.execute(database.db);
      const result = await queryUsage(database.db, { tenantId: acme.id, from, to, groupBy: [] });
      const row = direct.rows[0]!;
      expect(result.totals.requests).toBe(Number(row.requests));
      expect(result.totals.costMicros).toBe(Number(row.cost));
      expect(result.totals.inputTokens).toBe(Number(row.input));
      expect(result.totals.requests).toBeGreaterThan(100);
    });

    it('groups by day in UTC and keeps events without a user apart (null)', async () => {
      const result = await queryUsage(database.db, {
        tenantId: acme.id,
        from: START,
        to: new Date(START.getTime() + DAYS * 86_400_000),
        groupBy: ['day', 'user'],
      });
      const days = [...new Set(result.groups.map((g) => g.key.day))];
      expect(days).toEqual([
        '2026-02-26',
        '2026-02-27',
        '2026-02-28',
        '2026-03-01',
        '2026-03-02',
        '2026-03-03',
      ]);
      expect(result.groups.some((g) => g.key.user === null)).toBe(true);
      // Sorted by the dimensions in the order asked, nulls last.
      const keys = result.groups.map((g) => `${g.key.day}|${g.key.user ?? '~'}`);
      expect(keys).toEqual([...keys].sort());
    });

    it('filters by user, key, credential, provider and model', async () => {
      const from = new Date('2026-02-26T12:00:00Z');
      const to = new Date('2026-03-02T12:00:00Z');
      const user = acme.users[1]!;
      const credential = acme.credentials[0]!;
      const byUser = await queryUsage(database.db, {
        tenantId: acme.id,
        userId: user,
        from,
        to,
        groupBy: [],
      });
      expect(byUser.totals).toEqual(
        [...expected(events, from, to, [], (e) => e.tenantId === acme.id && e.userId === user).values()][0],
      );
      const byCredential = await queryUsage(database.db, {
        tenantId: acme.id,
        credentialId: credential,
        model: 'gpt-4o-mini',
        from,
        to,
        groupBy: ['provider'],
      });
      expect(byCredential.groups.map((g) => g.key.provider)).toEqual(['openai']);
      expect(byCredential.totals).toEqual(
        [
          ...expected(
            events,
            from,
            to,
            [],
            (e) => e.tenantId === acme.id && e.credentialId === credential && e.model === 'gpt-4o-mini',
          ).values(),
        ][0],
      );
    });

    it("a tenant's scope never sees another tenant, whatever the filter names", async () => {
      const range = { from: START, to: new Date(START.getTime() + DAYS * 86_400_000) };
      const forged = await withTenant(database.db, acme.id, (trx) =>
        queryUsage(trx, { ...range, tenantId: globex.id, groupBy: ['tenant'] }),
      );
      expect(forged.groups).toEqual([]);
      expect(forged.totals.requests).toBe(0);
      const unfiltered = await withTenant(database.db, acme.id, (trx) =>
        queryUsage(trx, { ...range, groupBy: ['tenant'] }),
      );
      expect(unfiltered.groups.map((g) => g.key.tenant)).toEqual([acme.id]);
    });

    it('the operator sees every tenant, grouped by tenant', async () => {
      const range = { from: new Date('2026-02-25T18:00:00Z'), to: new Date('2026-03-05T00:00:00Z') };
      const all = await queryUsage(database.db, { ...range, groupBy: ['tenant'] });
      expect(new Map(all.groups.map((g) => [g.key.tenant, g.totals.requests]))).toEqual(
        new Map([
          [acme.id, events.filter((e) => e.tenantId === acme.id).length],
          [globex.id, events.filter((e) => e.tenantId === globex.id).length],
        ]),
      );
      expect(all.totals.requests).toBe(events.length);
    });

    it('reports truncation instead of silently dropping groups', async () => {
      const result = await queryUsage(database.db, {
        tenantId: acme.id,
        from: START,
        to: new Date(START.getTime() + DAYS * 86_400_000),
        groupBy: ['day', 'model'],
        maxGroups: 3,
      });
      expect(result.truncated).toBe(true);
      expect(result.groups).toHaveLength(3);
    });

    it('an empty range or one without events answers zeros', async () => {
      const none = await queryUsage(database.db, {
        tenantId: acme.id,
        from: new Date('2030-01-01T00:00:00Z'),
        to: new Date('2030-02-01T00:00:00Z'),
        groupBy: [],
      });
      expect(none).toEqual({ groups: [], totals: zero(), truncated: false });
    });

    it('agrees with the rollup the ledger writer maintains, batch by batch, replays included', async () => {
      const writer = await openTestDatabase(backend);
      try {
        const rows: UsageRow[] = events.map((e) => ({
          request_id: e.requestId,
          attempt: e.attempt,
          tenant_id: e.tenantId,
          user_id: e.userId,
          virtual_key_id: e.virtualKeyId,
          credential_id: e.credentialId,
          key_source: e.keySource,
          provider: e.provider,
          model: e.model,
          operation: e.operation,
          input_tokens: e.inputTokens,
          output_tokens: e.outputTokens,
          cached_input_tokens: e.cachedInputTokens,
          cache_write_input_tokens: e.cacheWriteInputTokens,
          reasoning_tokens: e.reasoningTokens,
          cost_micros: e.costMicros,
          priced: e.priced,
          estimated: e.estimated,
          latency_ms: e.latencyMs,
          status: e.status,
          error_class: e.errorClass,
          upstream_status: e.upstreamStatus,
          occurred_at: e.occurredAt.toISOString(),
        }));
        for (let i = 0; i < rows.length; i += 97) await insertUsageBatch(writer.db, rows.slice(i, i + 97));
        await insertUsageBatch(writer.db, rows.slice(0, 150));
        const from = new Date('2026-02-26T06:30:00Z');
        const to = new Date('2026-03-03T18:00:00Z');
        for (const groupBy of [
          ['day', 'model'],
          ['user', 'credential', 'key_source'],
        ] as UsageDimension[][]) {
          const got = await withTenant(writer.db, acme.id, (trx) =>
            queryUsage(trx, { tenantId: acme.id, from, to, groupBy }),
          );
          const want = expected(events, from, to, groupBy, (e) => e.tenantId === acme.id);
          expect(
            new Map(got.groups.map((g) => [JSON.stringify(groupBy.map((d) => g.key[d] ?? null)), g.totals])),
          ).toEqual(want);
        }
      } finally {
        await writer.close();
      }
    });

    it('summarises usage per credential from the rollup', async () => {
      const since = '2026-02-28';
      const summary = await withTenant(database.db, acme.id, (trx) =>
        summarizeCredentialUsage(trx, [...acme.credentials, ...globex.credentials], since),
      );
      // Another tenant's credentials are invisible in a tenant's scope.
      expect([...summary.keys()].sort()).toEqual([...acme.credentials].sort());
      for (const id of acme.credentials) {
        const want = [
          ...expected(
            events,
            new Date(`${since}T00:00:00Z`),
            new Date('2100-01-01'),
            [],
            (e) => e.credentialId === id,
          ).values(),
        ][0];
        expect(summary.get(id)).toEqual(want);
      }
    });
  });
}

function addAll(a: UsageTotals, b: UsageTotals): UsageTotals {
  const out = { ...a };
  for (const k of Object.keys(a) as Array<keyof UsageTotals>) {
    if (k === 'lastAt') continue;
    (out[k] as number) = (a[k] as number) + (b[k] as number);
  }
  out.lastAt =
    a.lastAt === null ? b.lastAt : b.lastAt === null ? a.lastAt : a.lastAt > b.lastAt ? a.lastAt : b.lastAt;
  return out;
}
