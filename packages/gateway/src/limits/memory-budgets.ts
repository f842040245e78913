import { emitAlerts, reachedThresholds } from './budget-alerts.js';
import { periodWindow } from './budget-period.js';
import {
  type BudgetAlert,
  type BudgetReservation,
  type Budgets,
  type BudgetsOptions,
  DEFAULT_RESERVATION_TTL_MS,
  type PeriodWindow,
  type ReserveInput,
  type ReserveResult,
} from './budgets.js';
import { prepareReservation, toActualMicros } from './prepare-reservation.js';

interface PeriodState {
  spent: number;
  reserved: number;
  /**
   * Open holds, oldest first: a list threaded through the holds themselves. Insertion order is
   * expiry order (one TTL, added at `now()`), so expired holds are always at the head. Before, the
   * holds were a Map keyed by a random UUID per reservation: a string hashed on every reserve and
   * settle, and a table rehashed under the churn of thousands of calls a second, both of which
   * outlived young-generation collections.
   */
  head: Hold | undefined;
  tail: Hold | undefined;
  alerted: Set<number>;
  endMs: number;
}

const HELD = 0;
/** Its TTL passed first (the holder was presumed dead); a settle still counts, once. */
const LAPSED = 1;
/** Settled or released. */
const DONE = 2;

/** What a reservation holds in one budget's period. */
interface Hold {
  readonly state: PeriodState;
  readonly micros: number;
  readonly expiresAt: number;
  status: typeof HELD | typeof LAPSED | typeof DONE;
  prev: Hold | undefined;
  next: Hold | undefined;
}

/** A reservation of this process: it carries its holds, so a settle looks nothing up. */
interface MemoryReservation extends BudgetReservation {
  readonly holds: readonly Hold[];
}

/** Finished periods are forgotten this long after they end. */
const RETENTION_MS = 7 * 86_400_000;

/**
 * Budgets held in this process (one gateway instance). Every operation runs synchronously between
 * awaits, so check-and-reserve is atomic without a lock.
 */
export function createMemoryBudgets(options: BudgetsOptions = {}): Budgets {
  const now = options.now ?? Date.now;
  const ttl = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const states = new Map<string, PeriodState>();
  // Per budget id, the state of the window last asked for: periodWindow hands out one frozen
  // window object per period, so a call in the same period finds its state without building and
  // hashing the `states` key.
  const current = new Map<string, { window: PeriodWindow; state: PeriodState }>();
  let lastSweep = 0;
  // Reservation ids only need to be unique in this process.
  let reservations = 0;

  function state(budgetId: string, window: PeriodWindow, at: number): PeriodState {
    const last = current.get(budgetId);
    const s = last !== undefined && last.window === window ? last.state : keyedState(budgetId, window);
    lapse(s, at);
    return s;
  }

  /**
   * Ends the holds whose TTL has passed. The sweep stops at the first live hold: a call costs what
   * expired, not what is held. A clock stepping back only delays the expiry of holds added after
   * it by the step.
   */
  function lapse(s: PeriodState, at: number): void {
    for (let hold = s.head; hold !== undefined && hold.expiresAt <= at; hold = s.head) {
      unlink(hold);
      hold.status = LAPSED;
    }
  }

  function unlink(hold: Hold): void {
    const s = hold.state;
    s.reserved -= hold.micros;
    if (hold.prev) hold.prev.next = hold.next;
    else s.head = hold.next;
    if (hold.next) hold.next.prev = hold.prev;
    else s.tail = hold.prev;
    hold.prev = undefined;
    hold.next = undefined;
  }

  function keyedState(budgetId: string, window: PeriodWindow): PeriodState {
    const key = `${budgetId}\u0000${window.key}`;
    let s = states.get(key);
    if (!s) {
      s = {
        spent: 0,
        reserved: 0,
        head: undefined,
        tail: undefined,
        alerted: new Set(),
        endMs: window.endMs,
      };
      states.set(key, s);
    }
    current.set(budgetId, { window, state: s });
    return s;
  }

  function sweep(at: number) {
    if (at - lastSweep < 60_000) return;
    lastSweep = at;
    for (const [key, s] of states) if (s.endMs + RETENTION_MS <= at) states.delete(key);
    for (const [id, c] of current) if (c.state.endMs + RETENTION_MS <= at) current.delete(id);
  }

  function finish(reservation: BudgetReservation, actual: number) {
    // A reservation made elsewhere holds nothing here.
    const holds = (reservation as Partial<MemoryReservation>).holds;
    if (holds === undefined) return;
    const at = now();
    const alerts: BudgetAlert[] = [];
    for (let i = 0; i < holds.length; i++) {
      const hold = holds[i]!;
      const s = hold.state;
      lapse(s, at);
      if (hold.status === DONE) continue;
      if (hold.status === HELD) unlink(hold);
      hold.status = DONE;
      s.spent += actual;
      const { budget, window } = reservation.entries[i]!;
      for (const threshold of reachedThresholds(s.spent, budget.limitMicros)) {
        if (s.alerted.has(threshold)) continue;
        s.alerted.add(threshold);
        alerts.push({
          budget,
          window,
          threshold,
          spentMicros: s.spent,
          limitMicros: budget.limitMicros,
          cause: 'spend',
        });
      }
    }
    sweep(at);
    emitAlerts(alerts, options);
  }

  return {
    reserve(input) {
      try {
        return reserveNow(input);
      } catch (error) {
        return Promise.reject(error);
      }
    },

    settle(reservation, actualMicros) {
      finish(reservation, toActualMicros(actualMicros));
    },

    release(reservation) {
      finish(reservation, 0);
    },

    async status(budget, at = now()) {
      const window = periodWindow(budget.period, at);
      const s = state(budget.id, window, now());
      return { window, spentMicros: s.spent, reservedMicros: s.reserved };
    },

    async close() {
      states.clear();
      current.clear();
    },
  };

  // Synchronous: the counters are here, so a reservation costs no promise and no microtask.
  function reserveNow(input: ReserveInput): ReserveResult {
    const at = now();
    const reservation = prepareReservation(input, at, ttl, `m${++reservations}`);
    const held = reservation.entries.map((e) => state(e.budget.id, e.window, at));
    for (let i = 0; i < reservation.entries.length; i++) {
      const { budget, window } = reservation.entries[i]!;
      const s = held[i]!;
      if (budget.mode !== 'hard' || s.spent + s.reserved + reservation.micros <= budget.limitMicros) continue;
      if (!s.alerted.has(100)) {
        s.alerted.add(100);
        emitAlerts(
          [
            {
              budget,
              window,
              threshold: 100,
              spentMicros: s.spent,
              limitMicros: budget.limitMicros,
              cause: 'blocked',
            },
          ],
          options,
        );
      }
      return { ok: false, budget, window, spentMicros: s.spent, reservedMicros: s.reserved };
    }
    const holds: Hold[] = [];
    for (const s of held) {
      const hold: Hold = {
        state: s,
        micros: reservation.micros,
        expiresAt: reservation.expiresAt,
        status: HELD,
        prev: s.tail,
        next: undefined,
      };
      if (s.tail) s.tail.next = hold;
      else s.head = hold;
      s.tail = hold;
      s.reserved += reservation.micros;
      holds.push(hold);
    }
    sweep(at);
    const reserved: MemoryReservation = {
      id: reservation.id,
      micros: reservation.micros,
      entries: reservation.entries,
      expiresAt: reservation.expiresAt,
      holds,
    };
    return { ok: true, reservation: reserved };
  }
}
