export { type AdminChange, type AdminDeps, adminRoutes, createAdminApi } from './admin/index.js';
export {
  type AuthResult,
  authenticate,
  type Caller,
  presentedKey,
} from './auth/authenticate.js';
export {
  checkVirtualKeyFormat,
  type GeneratedVirtualKey,
  generateVirtualKey,
  hashVirtualKey,
  VIRTUAL_KEY_PREFIX,
} from './auth/virtual-key.js';
export {
  createGateway,
  type Gateway,
  type GatewayLimitsOptions,
  type GatewayOptions,
} from './create-gateway.js';
export {
  createEgressAgent,
  createSsrfPolicy,
  EgressRefusedError,
  loadAllowList,
  type SsrfPolicy,
} from './egress/index.js';
export { createLogger, type LoggerOptions, REDACTED_PATHS } from './http/logger.js';
export type { Problem } from './http/problem.js';
export {
  BUDGET_ALERT_ACTION,
  BUDGET_ALERT_ACTOR,
  type BudgetAlertAuditorOptions,
  createBudgetAlertAuditor,
} from './limits/budget-alert-auditor.js';
export {
  BUDGET_ALERT_EVENT,
  budgetAlertPayload,
  createBudgetAlertNotifier,
} from './limits/budget-alert-notifier.js';
export { type CreateLimitsOptions, createLimits, type Limits } from './limits/create-limits.js';
export {
  createWebhookDeliverer,
  type WebhookDeliverer,
} from './limits/webhook-deliverer.js';
export { verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from './limits/webhook-signature.js';
export {
  CHARS_PER_TOKEN,
  estimateChatInputTokens,
  estimateEmbedInputTokens,
} from './metering/estimate-tokens.js';
export { toLedgerId } from './metering/ledger/to-usage-row.js';
export {
  openUsageLedger,
  type UsageLedger,
  type UsageLedgerOptions,
  type UsageLedgerStats,
} from './metering/ledger/usage-ledger.js';
export {
  type Cost,
  createPriceTable,
  type PriceOverride,
  type PriceTable,
} from './metering/price-table.js';
export {
  createMemoryUsageSink,
  type MemoryUsageSink,
  noopUsageSink,
  type UsageEvent,
  type UsageSink,
  usageEventKey,
} from './metering/usage-sink.js';
export { type ConfigDirectoryOptions, createConfigDirectory } from './routing/config-directory.js';
export {
  type GatewayConfig,
  GatewayConfigSchema,
  parseGatewayConfig,
  validateGatewayConfig,
} from './routing/config-schema.js';
export type * from './routing/directory.js';
export { createDirectoryCache, type DirectoryCacheOptions } from './routing/directory-cache.js';
export type { ModelCatalogue, ModelRoute } from './routing/model-catalogue.js';
export { DEFAULT_MAX_OUTPUT_TOKENS } from './routing/provider-caller.js';
export type { KeySource } from './routing/resolve-provider-key.js';
export {
  changeSourceOf,
  createStoreDirectory,
  DIRECTORY_CHANNEL,
  listenForDirectoryChanges,
  notifyDirectoryChange,
  type StoreDirectory,
  type StoreDirectoryOptions,
} from './store/index.js';
