import { ALERT_THRESHOLDS, type AlertThreshold, type BudgetAlert, type BudgetsOptions } from './budgets.js';

/** Thresholds that `spentMicros` has reached (spend 0 reaches none, even against a 0 limit). */
export function reachedThresholds(spentMicros: number, limitMicros: number): AlertThreshold[] {
  if (spentMicros <= 0) return [];
  return ALERT_THRESHOLDS.filter((t) => spentMicros * 100 >= t * limitMicros);
}

/** Hands alerts to the callback without letting it slow or break the request path. */
export function emitAlerts(alerts: readonly BudgetAlert[], options: BudgetsOptions): void {
  const { onAlert, onAlertError } = options;
  if (!onAlert) return;
  for (const alert of alerts) {
    try {
      Promise.resolve(onAlert(alert)).catch((error) => onAlertError?.(error));
    } catch (error) {
      onAlertError?.(error);
    }
  }
}
