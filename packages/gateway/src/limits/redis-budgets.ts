import type { Redis } from 'ioredis';
import { emitAlerts } from './budget-alerts.js';
import { BUDGET_RESERVE, BUDGET_SETTLE, BUDGET_STATUS } from './budget-lua.js';
import { periodWindow } from './budget-period.js';
import {
  type AlertThreshold,
  type BudgetAlert,
  type BudgetReservation,
  type Budgets,
  type BudgetsOptions,
  DEFAULT_RESERVATION_TTL_MS,
  type PeriodWindow,
} from './budgets.js';
import { prepareReservation, toActualMicros } from './prepare-reservation.js';
import { keyPart, runLua } from './run-lua.js';

export interface RedisBudgetsOptions extends BudgetsOptions {
  /** A connected client; the budgets do not close it. */
  redis: Redis;
  /** Prefix of every key. Default `keyhold`. */
  keyPrefix?: string;
}

/** Counters of a finished period stay readable this long after it ends. */
const RETENTION_MS = 7 * 86_400_000;

/**
 * Budgets shared by every gateway instance on one Redis. One Lua script checks every hard budget
 * of a call and takes the hold on all of them atomically, so N instances together can never pass a
 * limit.
 *
 * Reservation TTL: a hold lives `reservationTtlMs` (default 10 min). If the process holding it
 * dies before settling, the hold lapses after the TTL and its micros return to the budget; the
 * call's real cost, if it was consumed, is then missing from the counter (the usage ledger, once it
 * exists, is the durable record and can re-seed it). A settle arriving after its hold lapsed still
 * adds the real cost. The clock is this host's (`now`); skew between hosts only shifts expiries by
 * that skew.
 *
 * The counters are a cache of spend for enforcement: a Redis restart without persistence resets
 * the current period's spend to 0.
 */
export function createRedisBudgets(options: RedisBudgetsOptions): Budgets {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'keyhold';
  const now = options.now ?? Date.now;
  const ttl = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const keys = (budgetId: string, window: PeriodWindow) => {
    const h = `${prefix}:b:${keyPart(budgetId)}:${window.key}`;
    return [h, `${h}:x`];
  };

  async function finish(reservation: BudgetReservation, actual: number) {
    if (reservation.entries.length === 0) return;
    const at = now();
    const args: (string | number)[] = [at, reservation.id, actual, at + ttl, reservation.expiresAt];
    for (const { budget, window } of reservation.entries)
      args.push(budget.limitMicros, window.endMs + RETENTION_MS);
    const reply = (await runLua(
      redis,
      BUDGET_SETTLE,
      reservation.entries.flatMap((e) => keys(e.budget.id, e.window)),
      args,
    )) as number[];
    const alerts: BudgetAlert[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const entry = reservation.entries[reply[i]! - 1]!;
      alerts.push({
        budget: entry.budget,
        window: entry.window,
        threshold: reply[i + 1] as AlertThreshold,
        spentMicros: reply[i + 2]!,
        limitMicros: entry.budget.limitMicros,
        cause: 'spend',
      });
    }
    emitAlerts(alerts, options);
  }

  return {
    async reserve(input) {
      const at = now();
      const reservation = prepareReservation(input, at, ttl);
      if (reservation.entries.length === 0) return { ok: true, reservation };
      const args: (string | number)[] = [at, reservation.id, reservation.micros, reservation.expiresAt];
      for (const { budget, window } of reservation.entries) {
        args.push(budget.limitMicros, budget.mode === 'hard' ? 1 : 0, window.endMs + RETENTION_MS);
      }
      const reply = (await runLua(
        redis,
        BUDGET_RESERVE,
        reservation.entries.flatMap((e) => keys(e.budget.id, e.window)),
        args,
      )) as number[];
      if (reply[0] === 1) return { ok: true, reservation };
      const { budget, window } = reservation.entries[reply[1]! - 1]!;
      const spentMicros = reply[2]!;
      if (reply[4] === 1) {
        emitAlerts(
          [
            {
              budget,
              window,
              threshold: 100,
              spentMicros,
              limitMicros: budget.limitMicros,
              cause: 'blocked',
            },
          ],
          options,
        );
      }
      return { ok: false, budget, window, spentMicros, reservedMicros: reply[3]! };
    },

    settle: (reservation, actualMicros) => finish(reservation, toActualMicros(actualMicros)),

    release: (reservation) => finish(reservation, 0),

    async status(budget, at = now()) {
      const window = periodWindow(budget.period, at);
      const [spentMicros, reservedMicros] = (await runLua(redis, BUDGET_STATUS, keys(budget.id, window), [
        now(),
      ])) as [number, number];
      return { window, spentMicros, reservedMicros };
    },

    async close() {},
  };
}
