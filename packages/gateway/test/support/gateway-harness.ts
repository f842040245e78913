import { Writable } from 'node:stream';
import type { ProviderAdapter } from '@keyhold/core';
import { createLogger } from '../../src/http/logger.js';
import {
  createConfigDirectory,
  createGateway,
  createMemoryUsageSink,
  createPriceTable,
  type Gateway,
  type GatewayConfig,
  type GatewayOptions,
  generateVirtualKey,
  type MemoryUsageSink,
  type UsageEvent,
} from '../../src/index.js';

export interface Harness {
  url: string;
  gateway: Gateway;
  /** Every JSON log line the gateway wrote. */
  logs: string[];
  usage: readonly UsageEvent[];
  /** The in-memory usage sink behind `usage` (`waitFor` streamed calls' events). */
  sink: MemoryUsageSink;
  close(): Promise<void>;
}

/** Starts a gateway on an ephemeral port over a config-file directory, capturing its logs. */
export async function startGateway(
  config: GatewayConfig,
  options: {
    env?: Record<string, string>;
    adapters?: Record<string, ProviderAdapter>;
    providerFields?: Record<string, Record<string, string>>;
    maxRetries?: number;
    limits?: GatewayOptions['limits'];
    webhooks?: GatewayOptions['webhooks'];
    /** Adds routes to the gateway's Fastify app before it listens (what is not `/v1/…`). */
    routes?: (app: Gateway['app']) => void;
    /** The memory sink's `durable()` (default: none, events count as durable when recorded). */
    durable?: () => Promise<void> | undefined;
  } = {},
): Promise<Harness> {
  const loaded = createConfigDirectory(config, { env: options.env ?? {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const sink = createMemoryUsageSink();
  if (options.durable) sink.durable = options.durable;
  const gateway = createGateway({
    directory: loaded.directory,
    catalogue: { aliases: config.models?.aliases ?? {}, list: config.models?.list ?? [] },
    logger: createLogger({ level: 'debug', destination }),
    usage: sink,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(config.pricing?.overrides
      ? { prices: createPriceTable({ overrides: config.pricing.overrides }) }
      : {}),
    maxRetries: options.maxRetries ?? 0,
    drainTimeoutMs: 5_000,
    ...(options.adapters ? { adapters: options.adapters } : {}),
    ...(options.providerFields || config.providers
      ? { providerFields: { ...config.providers, ...options.providerFields } }
      : {}),
  });
  options.routes?.(gateway.app);
  const url = await gateway.listen({ port: 0 });
  return { url, gateway, logs, usage: sink.events, sink, close: () => gateway.close() };
}

/** A virtual key entry for a config file, and the key to present. */
export function virtualKey(
  id: string,
  extra: {
    userId?: string;
    expiresAt?: string;
    revokedAt?: string;
    limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
  } = {},
) {
  const generated = generateVirtualKey();
  return {
    key: generated.key,
    entry: { id, hash: generated.hash, prefix: generated.prefix, hint: generated.hint, ...extra },
  };
}
