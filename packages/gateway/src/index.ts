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
export { createGateway, type Gateway, type GatewayOptions } from './create-gateway.js';
export { createLogger, type LoggerOptions, REDACTED_PATHS } from './http/logger.js';
export type { Problem } from './http/problem.js';
export { noopUsageSink, type UsageEvent, type UsageSink } from './metering/usage-sink.js';
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
export type { KeySource } from './routing/resolve-provider-key.js';
