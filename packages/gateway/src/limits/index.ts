export { reachedThresholds } from './budget-alerts.js';
export { periodWindow } from './budget-period.js';
export {
  ALERT_THRESHOLDS,
  type AlertThreshold,
  type Budget,
  type BudgetAlert,
  type BudgetMode,
  type BudgetPeriod,
  type BudgetReservation,
  type BudgetScopeKind,
  type BudgetStatus,
  type Budgets,
  type BudgetsOptions,
  budgetExceededMessage,
  DEFAULT_RESERVATION_TTL_MS,
  type PeriodWindow,
  type ReserveInput,
  type ReserveResult,
} from './budgets.js';
export { type CreateLimitsOptions, createLimits, type Limits } from './create-limits.js';
export { createMemoryBudgets } from './memory-budgets.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './memory-rate-limiter.js';
export { formatResetDuration } from './rate-decision.js';
export {
  RATE_PERIOD_MS,
  type RateCheckInput,
  type RateCheckResult,
  type RateLimiter,
  type RateLimitHeaders,
  type RateScope,
  type RateScopeKind,
  type RateTicket,
} from './rate-limiter.js';
export { createRedisBudgets, type RedisBudgetsOptions } from './redis-budgets.js';
export { createRedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
export {
  createWebhookDeliverer,
  type WebhookDeliverer,
  type WebhookDelivererOptions,
  type WebhookDelivery,
  type WebhookResult,
} from './webhook-deliverer.js';
export {
  DEFAULT_WEBHOOK_TOLERANCE_S,
  signWebhook,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
} from './webhook-signature.js';
