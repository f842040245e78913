import { type Directory, revealWebhookSecret } from '../routing/directory.js';
import type { BudgetAlert } from './budgets.js';
import { parseBudgetCounterId } from './caller-limits.js';
import type { WebhookDeliverer } from './webhook-deliverer.js';

/** The `type` of a budget alert webhook. */
export const BUDGET_ALERT_EVENT = 'budget.threshold';

export interface BudgetAlertNotifierOptions {
  /** Where the tenant's `alertWebhook` is read. */
  directory: Directory;
  deliverer: WebhookDeliverer;
  /** A delivery that finally failed, or a lookup error (for the log). */
  onError?: (error: unknown) => void;
}

/**
 * Sends budget alerts to the tenant's webhook, HMAC-signed by the deliverer. Used as the budgets'
 * `onAlert`: it returns at once and delivers in the background (with the deliverer's retries), so
 * an alert never sits on a request's critical path. A tenant without a webhook gets none.
 *
 * The body's `data` (see {@link budgetAlertPayload}) names the tenant, the budget as the tenant
 * configured it, the period, the threshold, spend and limit in micro-dollars, and the cause
 * (`spend` reached the threshold, or a hard budget `blocked` a call). The webhook id is stable per
 * budget, period and threshold, so a receiver can de-duplicate.
 */
export function createBudgetAlertNotifier(options: BudgetAlertNotifierOptions): (alert: BudgetAlert) => void {
  const onError = options.onError ?? (() => {});
  return (alert) => {
    void deliver(alert).catch(onError);
  };

  async function deliver(alert: BudgetAlert): Promise<void> {
    const { tenantId } = parseBudgetCounterId(alert.budget.id);
    const webhook = (await options.directory.getTenant(tenantId))?.settings.alertWebhook;
    if (!webhook) return;
    const result = await options.deliverer.deliver({
      url: webhook.url,
      secret: revealWebhookSecret(webhook).reveal(),
      type: BUDGET_ALERT_EVENT,
      id: `budget:${alert.budget.id}:${alert.window.key}:${alert.threshold}`,
      data: budgetAlertPayload(alert),
    });
    if (!result.delivered) {
      throw new Error(
        `Budget alert for tenant ${tenantId} not delivered after ${result.attempts} attempts${
          result.status !== undefined ? ` (last status ${result.status})` : ''
        }`,
      );
    }
  }
}

/** The `data` of a budget alert webhook. */
export function budgetAlertPayload(alert: BudgetAlert) {
  const { tenantId, budgetId } = parseBudgetCounterId(alert.budget.id);
  return {
    tenantId,
    budget: {
      id: budgetId,
      scope: alert.budget.scope.kind,
      scopeId: alert.budget.scope.id,
      period: alert.budget.period,
      mode: alert.budget.mode,
    },
    period: {
      key: alert.window.key,
      start: new Date(alert.window.startMs).toISOString(),
      end: new Date(alert.window.endMs).toISOString(),
    },
    threshold: alert.threshold,
    spentMicros: alert.spentMicros,
    limitMicros: alert.limitMicros,
    cause: alert.cause,
  };
}
