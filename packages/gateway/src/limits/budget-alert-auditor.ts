import type { Kysely } from 'kysely';
import { appendAuditEvent } from '../store/audit-log.js';
import type { Schema } from '../store/schema.js';
import type { BudgetAlert } from './budgets.js';
import { parseBudgetCounterId } from './caller-limits.js';

/** The audit log's actor and action for budget alerts. */
export const BUDGET_ALERT_ACTOR = 'system:budgets';
export const BUDGET_ALERT_ACTION = 'budget.alert';

export interface BudgetAlertAuditorOptions {
  db: Kysely<Schema>;
  /** A write that failed (for the log). */
  onError?: (error: unknown) => void;
}

/**
 * Records budget alerts (50 / 80 / 100 %) in the tenant's audit chain, next to the webhook that
 * `createBudgetAlertNotifier` sends: actor `system:budgets`, action `budget.alert`, target the
 * budget's id as the tenant configured it, and in the details the scope, period, threshold,
 * spend, limit (micro-dollars) and cause — ids and amounts only. Like the notifier it returns at
 * once and writes in the background: an alert never holds up the request that crossed it.
 *
 * Each threshold fires once per budget and period across instances (see `BudgetAlert`), so each
 * is recorded once.
 *
 * @example
 * const gateway = createGateway({ directory, onBudgetAlert: createBudgetAlertAuditor({ db }) });
 */
export function createBudgetAlertAuditor(options: BudgetAlertAuditorOptions): (alert: BudgetAlert) => void {
  const onError = options.onError ?? (() => {});
  return (alert) => {
    void record(alert).catch(onError);
  };

  async function record(alert: BudgetAlert): Promise<void> {
    const { tenantId, budgetId } = parseBudgetCounterId(alert.budget.id);
    await appendAuditEvent(options.db, {
      tenantId,
      actor: BUDGET_ALERT_ACTOR,
      action: BUDGET_ALERT_ACTION,
      targetId: budgetId,
      details: {
        scope: alert.budget.scope.kind,
        scope_id: alert.budget.scope.id,
        period: alert.budget.period,
        period_key: alert.window.key,
        mode: alert.budget.mode,
        threshold: alert.threshold,
        spent_micros: alert.spentMicros,
        limit_micros: alert.limitMicros,
        cause: alert.cause,
      },
    });
  }
}
