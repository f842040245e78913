import type { ProviderAdapter, Transport } from '@keyhold/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger } from './http/logger.js';
import { buildServer } from './http/server.js';
import { createBudgetAlertNotifier } from './limits/budget-alert-notifier.js';
import type { BudgetAlert } from './limits/budgets.js';
import { createLimits, type Limits } from './limits/create-limits.js';
import { createRequestGuard } from './limits/request-guard.js';
import { createWebhookDeliverer, type WebhookDeliverer } from './limits/webhook-deliverer.js';
import { createPriceTable, type PriceTable } from './metering/price-table.js';
import { noopUsageSink, type UsageSink } from './metering/usage-sink.js';
import type { Directory } from './routing/directory.js';
import { createDirectoryCache } from './routing/directory-cache.js';
import type { ModelCatalogue } from './routing/model-catalogue.js';
import { createProviderCaller } from './routing/provider-caller.js';

export interface GatewayOptions {
  /** Tenants, users, groups, virtual keys and credentials (config file, or the vault's store). */
  directory: Directory;
  /** Operator model aliases and the models `GET /v1/models` lists. */
  catalogue?: Partial<ModelCatalogue>;
  /** Adapters that replace the registry's for some providers (custom providers, a scripted fake). */
  adapters?: Readonly<Record<string, ProviderAdapter>>;
  /** Operator-set non-secret fields per provider, e.g. `{ openai: { baseURL } }` for an egress proxy. */
  providerFields?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** How adapters reach providers (default: core's shared undici transport). */
  transport?: Transport;
  /**
   * Receives one usage event per upstream attempt (default: dropped). The durable ledger
   * (`openUsageLedger`) plugs in here; while it is not `accepting()`, requests get 503.
   */
  usage?: UsageSink;
  /**
   * Where rate limits and budgets are counted: in this process (default), in Redis with
   * `{ redisUrl }` (shared by every replica), or a `Limits` instance built by the caller (which
   * then also owns its alert callback and closing). With options, budget alerts go to each
   * tenant's `alertWebhook` and the gateway closes the connection on `close()`.
   */
  limits?: GatewayLimitsOptions | Limits;
  /** The price table (default: the bundled catalogue without overrides). */
  prices?: PriceTable;
  /** Delivers budget alert webhooks (default: `createWebhookDeliverer()`). */
  webhooks?: WebhookDeliverer;
  /**
   * Also receives every budget alert, besides the tenant's webhook, when the gateway builds its
   * own limits (not with a ready-made `Limits`): the store-backed gateway records them in the
   * audit log with `createBudgetAlertAuditor`. Must not throw or block.
   */
  onBudgetAlert?: (alert: BudgetAlert) => void;
  /**
   * Output tokens reserved for a chat request that sets no max tokens (default 4096); see
   * `DEFAULT_MAX_OUTPUT_TOKENS`.
   */
  defaultMaxOutputTokens?: number;
  logger?: Logger;
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimit?: number;
  /** How long directory lookups are cached (ms, default 30 s). */
  cacheTtlMs?: number;
  /** How long `close()` waits for in-flight requests before cutting connections (ms, default 30 s). */
  drainTimeoutMs?: number;
  /** Per-attempt upstream timeout (ms). */
  upstreamTimeoutMs?: number;
  /** Retries of transient upstream failures (default 2). */
  maxRetries?: number;
}

export interface GatewayLimitsOptions {
  /** `REDIS_URL`: counters shared through Redis, atomic across gateway instances. */
  redisUrl?: string;
  /** Prefix of every Redis key (default `keyhold`). */
  keyPrefix?: string;
  /** How long a budget hold outlives a dead process (ms, default 10 min). */
  reservationTtlMs?: number;
}

export interface Gateway {
  /** The Fastify instance (for `inject` in tests, or to add routes). */
  readonly app: FastifyInstance;
  readonly logger: Logger;
  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:4000`. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Stops accepting requests, drains in-flight ones (bounded by `drainTimeoutMs`) and closes. */
  close(): Promise<void>;
}

/**
 * Builds a gateway from its dependencies.
 *
 * @example
 * const loaded = createConfigDirectory(config);
 * if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
 * const gateway = createGateway({ directory: loaded.directory, catalogue: { aliases: { fast: 'openai/gpt-4o-mini' } } });
 * const url = await gateway.listen({ port: 4000 });
 */
export function createGateway(options: GatewayOptions): Gateway {
  const logger = options.logger ?? createLogger();
  const directory = createDirectoryCache(options.directory, { ttlMs: options.cacheTtlMs });
  const catalogue: ModelCatalogue = {
    aliases: options.catalogue?.aliases ?? {},
    list: options.catalogue?.list ?? [],
  };
  const usage = options.usage ?? noopUsageSink;
  const ownsLimits = !isLimits(options.limits);
  const limits = isLimits(options.limits)
    ? options.limits
    : buildLimits(
        options.limits ?? {},
        directory,
        options.webhooks ?? createWebhookDeliverer(),
        logger,
        options.onBudgetAlert,
      );
  const prices = options.prices ?? createPriceTable();
  const guard = createRequestGuard({
    limits,
    prices,
    onError: (error) => logger.warn({ err: errorSummary(error) }, 'rate limits or budgets unavailable'),
  });
  const caller = createProviderCaller({
    directory,
    catalogue,
    usage,
    prices,
    guard,
    onError: (error) => logger.warn({ err: errorSummary(error) }, 'metering failed'),
    ...(options.defaultMaxOutputTokens !== undefined
      ? { defaultMaxOutputTokens: options.defaultMaxOutputTokens }
      : {}),
    ...(options.adapters ? { adapters: options.adapters } : {}),
    ...(options.providerFields ? { providerFields: options.providerFields } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.upstreamTimeoutMs !== undefined ? { timeoutMs: options.upstreamTimeoutMs } : {}),
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
  });
  let ready = false;
  let closing: Promise<void> | undefined;
  const app = buildServer({
    directory,
    catalogue,
    caller,
    logger,
    // Not ready either while usage cannot be recorded: a load balancer then sends traffic elsewhere.
    isReady: () => ready && usage.accepting?.() !== false,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
  });

  return {
    app,
    logger,
    async listen(listenOptions = {}) {
      const url = await app.listen({
        port: listenOptions.port ?? 0,
        host: listenOptions.host ?? '127.0.0.1',
      });
      ready = true;
      return url;
    },
    close() {
      closing ??= (async () => {
        ready = false;
        const timeoutMs = options.drainTimeoutMs ?? 30_000;
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs }, 'drain timeout: closing remaining connections');
          app.server.closeAllConnections();
        }, timeoutMs);
        timer.unref();
        // A keep-alive connection whose last request finishes during the drain would otherwise
        // hold the server open until its idle timeout: close such connections as they go idle.
        const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
        sweeper.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          clearInterval(sweeper);
          // Settle what finished requests still hold and flush their usage before disconnecting.
          await caller.drain();
          await usage.close?.();
          if (ownsLimits) await limits.close();
          await directory.close?.();
        }
      })();
      return closing;
    },
  };
}

/** Limits on the configured backend, with budget alerts sent to each tenant's webhook (and `also`). */
function buildLimits(
  limitOptions: GatewayLimitsOptions,
  directory: Directory,
  deliverer: WebhookDeliverer,
  logger: Logger,
  also?: (alert: BudgetAlert) => void,
): Limits {
  const notify = createBudgetAlertNotifier({
    directory,
    deliverer,
    onError: (error) => logger.warn({ err: errorSummary(error) }, 'budget alert not delivered'),
  });
  return createLimits({
    ...(limitOptions.redisUrl ? { redisUrl: limitOptions.redisUrl } : {}),
    ...(limitOptions.keyPrefix !== undefined ? { keyPrefix: limitOptions.keyPrefix } : {}),
    ...(limitOptions.reservationTtlMs !== undefined
      ? { reservationTtlMs: limitOptions.reservationTtlMs }
      : {}),
    onAlert: also
      ? (alert) => {
          notify(alert);
          also(alert);
        }
      : notify,
    onRedisError: (error) => logger.warn({ err: errorSummary(error) }, 'redis connection error'),
  });
}

function isLimits(value: GatewayLimitsOptions | Limits | undefined): value is Limits {
  return value !== undefined && 'rateLimiter' in value && 'budgets' in value;
}

/** An error for the log: its class and message only (Keyhold's and ioredis' own words). */
function errorSummary(error: unknown): { type: string; message: string } {
  return error instanceof Error
    ? { type: error.name, message: error.message }
    : { type: typeof error, message: 'non-error thrown' };
}
