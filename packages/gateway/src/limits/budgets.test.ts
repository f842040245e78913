import { afterAll, describe, expect, it } from 'vitest';
import type { Budget, BudgetAlert, Budgets, BudgetsOptions } from './budgets.js';
import { budgetExceededMessage } from './budgets.js';
import { createMemoryBudgets } from './memory-budgets.js';
import { createRedisBudgets } from './redis-budgets.js';
import { connectTestRedis, deletePrefix, uniquePrefix } from './testing/test-redis.js';

const redis = await connectTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  if (!redis.available) return;
  for (const p of prefixes) await deletePrefix(redis.client, p);
  await redis.client.quit();
});

const budget = (id: string, limitMicros: number, extra: Partial<Budget> = {}): Budget => ({
  id,
  scope: { kind: 'tenant', id: 'tenant-1' },
  period: 'month',
  limitMicros,
  mode: 'hard',
  ...extra,
});

// A fixed clock, but always in the future: Redis expires the counters by its own (real) clock a
// week after their period ends, so a date in the past would have them vanish as they are written.
const YEAR = new Date().getUTCFullYear() + 1;
const START = Date.UTC(YEAR, 10, 23, 12, 0, 0);

for (const backend of ['memory', 'redis'] as const) {
  describe.skipIf(backend === 'redis' && !redis.available)(`budgets (${backend})`, () => {
    function setup(options: BudgetsOptions = {}) {
      const clock = { t: START };
      const alerts: BudgetAlert[] = [];
      const opts: BudgetsOptions = { now: () => clock.t, onAlert: (a) => void alerts.push(a), ...options };
      let budgets: Budgets;
      if (backend === 'memory') budgets = createMemoryBudgets(opts);
      else {
        const keyPrefix = uniquePrefix();
        prefixes.push(keyPrefix);
        budgets = createRedisBudgets({ redis: redis.client!, keyPrefix, ...opts });
      }
      return { clock, alerts, budgets };
    }

    async function reserveOk(budgets: Budgets, list: Budget[], micros: number) {
      const r = await budgets.reserve({ budgets: list, micros });
      if (!r.ok) throw new Error(`expected the reservation of ${micros} to pass`);
      return r.reservation;
    }

    it('a hard budget refuses the call that could exceed it, naming the budget', async () => {
      const { budgets } = setup();
      const b = budget('b1', 1000);
      await reserveOk(budgets, [b], 400);
      await reserveOk(budgets, [b], 400);
      const refused = await budgets.reserve({ budgets: [b], micros: 400 });
      expect(refused).toMatchObject({
        ok: false,
        budget: b,
        spentMicros: 0,
        reservedMicros: 800,
        window: { key: `${YEAR}-11` },
      });
      expect(budgetExceededMessage(b)).toBe("The monthly budget 'b1' of tenant 'tenant-1' is exhausted");
      // Exactly reaching the limit is allowed.
      expect((await budgets.reserve({ budgets: [b], micros: 200 })).ok).toBe(true);
    });

    it('settle replaces the hold with the real cost', async () => {
      const { budgets } = setup();
      const b = budget('b1', 1000);
      const first = await reserveOk(budgets, [b], 400);
      await reserveOk(budgets, [b], 400);
      await budgets.settle(first, 100);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 100, reservedMicros: 400 });
      expect((await budgets.reserve({ budgets: [b], micros: 500 })).ok).toBe(true);
      expect((await budgets.reserve({ budgets: [b], micros: 1 })).ok).toBe(false);
    });

    it('release frees the hold without spending', async () => {
      const { budgets } = setup();
      const b = budget('b1', 1000);
      const r = await reserveOk(budgets, [b], 1000);
      expect((await budgets.reserve({ budgets: [b], micros: 1 })).ok).toBe(false);
      await budgets.release(r);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
      expect((await budgets.reserve({ budgets: [b], micros: 1000 })).ok).toBe(true);
    });

    it('settling twice counts once', async () => {
      const { budgets } = setup();
      const b = budget('b1', 1000);
      const r = await reserveOk(budgets, [b], 300);
      await budgets.settle(r, 250);
      await budgets.settle(r, 250);
      await budgets.release(r);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 250, reservedMicros: 0 });
    });

    it('never blocks a zero-price call, and without budgets checks nothing', async () => {
      const { budgets } = setup();
      const b = budget('b1', 0);
      expect((await budgets.reserve({ budgets: [b], micros: 1 })).ok).toBe(false);
      const free = await reserveOk(budgets, [b], 0);
      expect(free.entries).toHaveLength(0);
      await budgets.settle(free, 0);
      expect((await budgets.reserve({ budgets: [], micros: 1_000_000 })).ok).toBe(true);
    });

    it('a soft budget never blocks; every budget alerts once at 50, 80 and 100 %', async () => {
      const { budgets, alerts } = setup();
      const b = budget('soft', 1000, { mode: 'soft' });
      await budgets.settle(await reserveOk(budgets, [b], 10), 499);
      expect(alerts).toHaveLength(0);
      await budgets.settle(await reserveOk(budgets, [b], 10), 1);
      expect(alerts.map((a) => [a.threshold, a.spentMicros, a.cause])).toEqual([[50, 500, 'spend']]);
      await budgets.settle(await reserveOk(budgets, [b], 10), 600);
      expect(alerts.map((a) => a.threshold)).toEqual([50, 80, 100]);
      // Over the limit: still admitted (soft), no repeated alerts.
      await budgets.settle(await reserveOk(budgets, [b], 5000), 5000);
      expect(alerts).toHaveLength(3);
      expect(alerts[2]).toMatchObject({
        budget: b,
        limitMicros: 1000,
        spentMicros: 1100,
        window: { key: `${YEAR}-11` },
      });
    });

    it('a hard budget that first refuses a call sends its 100 % alert, once', async () => {
      const { budgets, alerts } = setup();
      const b = budget('hard', 1000);
      await budgets.settle(await reserveOk(budgets, [b], 600), 600);
      expect(alerts.map((a) => a.threshold)).toEqual([50]);
      expect((await budgets.reserve({ budgets: [b], micros: 500 })).ok).toBe(false);
      expect((await budgets.reserve({ budgets: [b], micros: 500 })).ok).toBe(false);
      expect(alerts.map((a) => [a.threshold, a.cause, a.spentMicros])).toEqual([
        [50, 'spend', 600],
        [100, 'blocked', 600],
      ]);
      await budgets.settle(await reserveOk(budgets, [b], 400), 400);
      expect(alerts.map((a) => a.threshold)).toEqual([50, 100, 80]);
    });

    it('checks every applicable budget atomically: a refusal by one holds nothing anywhere', async () => {
      const { budgets } = setup();
      const tenantBudget = budget('tenant', 10_000);
      const userBudget = budget('user', 500, { scope: { kind: 'user', id: 'u1' }, period: 'day' });
      await reserveOk(budgets, [tenantBudget, userBudget], 400);
      const refused = await budgets.reserve({ budgets: [tenantBudget, userBudget], micros: 400 });
      expect(refused).toMatchObject({ ok: false, budget: userBudget, window: { key: `${YEAR}-11-23` } });
      expect(await budgets.status(tenantBudget)).toMatchObject({ reservedMicros: 400 });
    });

    it('resets at the next UTC period', async () => {
      const { budgets, clock, alerts } = setup();
      const daily = budget('daily', 1000, { period: 'day' });
      const monthly = budget('monthly', 5000);
      await budgets.settle(await reserveOk(budgets, [daily, monthly], 1000), 1000);
      expect((await budgets.reserve({ budgets: [daily], micros: 1 })).ok).toBe(false);
      clock.t = Date.UTC(YEAR, 10, 24, 0, 0, 0);
      const next = await reserveOk(budgets, [daily, monthly], 1000);
      expect(next.entries.map((e) => e.window.key)).toEqual([`${YEAR}-11-24`, `${YEAR}-11`]);
      await budgets.settle(next, 1000);
      expect(await budgets.status(monthly)).toMatchObject({ spentMicros: 2000 });
      // The daily budget alerts again in its new period.
      expect(alerts.filter((a) => a.budget.id === 'daily').map((a) => a.window.key)).toEqual([
        `${YEAR}-11-23`,
        `${YEAR}-11-23`,
        `${YEAR}-11-23`,
        `${YEAR}-11-24`,
        `${YEAR}-11-24`,
        `${YEAR}-11-24`,
      ]);
    });

    it('a hold lapses after its TTL (the holder died); a late settle still records the cost', async () => {
      const { budgets, clock } = setup({ reservationTtlMs: 60_000 });
      const b = budget('b1', 1000);
      const orphan = await reserveOk(budgets, [b], 900);
      clock.t += 59_999;
      expect((await budgets.reserve({ budgets: [b], micros: 900 })).ok).toBe(false);
      clock.t += 1;
      const next = await reserveOk(budgets, [b], 900);
      expect(await budgets.status(b)).toMatchObject({ reservedMicros: 900 });
      await budgets.settle(orphan, 50);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 50, reservedMicros: 900 });
      await budgets.release(next);
    });

    it('a repeat settle is a no-op, in time and after a lapsed hold; a late settle counts once', async () => {
      const { budgets, clock } = setup({ reservationTtlMs: 60_000 });
      const b = budget('b1', 1_000_000);
      const inTime = await reserveOk(budgets, [b], 10);
      const late = await reserveOk(budgets, [b], 10);
      await budgets.settle(inTime, 10);
      clock.t += 59_999;
      // Its hold is gone while it could still hold one: settled already.
      await budgets.settle(inTime, 10);
      await budgets.release(inTime);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 10, reservedMicros: 10 });
      clock.t += 1;
      // `late`'s hold has lapsed: its settle still counts, once.
      await budgets.settle(late, 10);
      await budgets.settle(late, 10);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 20, reservedMicros: 0 });
      clock.t += 59_999;
      await budgets.settle(late, 10);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 20, reservedMicros: 0 });
    });

    it('50 concurrent reservations against a budget that allows 10: exactly 10 pass', async () => {
      const { budgets } = setup();
      const b = budget('b1', 1000);
      const results = await Promise.all(
        Array.from({ length: 50 }, () => budgets.reserve({ budgets: [b], micros: 100 })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect(await budgets.status(b)).toMatchObject({ reservedMicros: 1000 });
    });

    it('one tenant at its budget does not hold back another', async () => {
      const { budgets } = setup();
      const spent = budget('spent', 100, { scope: { kind: 'tenant', id: 'a' } });
      const fresh = budget('fresh', 1_000_000, { scope: { kind: 'tenant', id: 'b' } });
      await reserveOk(budgets, [spent], 100);
      const mixed = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          budgets.reserve({ budgets: [i % 2 ? spent : fresh], micros: 10 }),
        ),
      );
      expect(mixed.filter((r, i) => i % 2 === 0 && r.ok)).toHaveLength(50);
      expect(mixed.filter((r, i) => i % 2 === 1 && r.ok)).toHaveLength(0);
    });

    it('rejects a budget whose limit is not a non-negative integer', async () => {
      const { budgets } = setup();
      await expect(budgets.reserve({ budgets: [budget('bad', 1.5)], micros: 1 })).rejects.toThrow(RangeError);
    });

    it('an alert callback that throws does not break settle', async () => {
      const errors: unknown[] = [];
      const { budgets } = setup({
        onAlert: () => {
          throw new Error('receiver down');
        },
        onAlertError: (e) => errors.push(e),
      });
      const b = budget('b1', 100, { mode: 'soft' });
      await budgets.settle(await reserveOk(budgets, [b], 100), 100);
      expect(errors).toHaveLength(3);
      expect(await budgets.status(b)).toMatchObject({ spentMicros: 100 });
    });
  });
}
