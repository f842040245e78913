import { Writable } from 'node:stream';
import type { ProviderAdapter } from '@keyhold/core';
import { createLogger } from '../../src/http/logger.js';
import {
  createConfigDirectory,
  createGateway,
  type Gateway,
  type GatewayConfig,
  generateVirtualKey,
  type UsageEvent,
} from '../../src/index.js';

export interface Harness {
  url: string;
  gateway: Gateway;
  /** Every JSON log line the gateway wrote. */
  logs: string[];
  usage: UsageEvent[];
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
  const usage: UsageEvent[] = [];
  const gateway = createGateway({
    directory: loaded.directory,
    catalogue: { aliases: config.models?.aliases ?? {}, list: config.models?.list ?? [] },
    logger: createLogger({ level: 'debug', destination }),
    usage: { record: (event) => usage.push(event) },
    maxRetries: options.maxRetries ?? 0,
    drainTimeoutMs: 5_000,
    ...(options.adapters ? { adapters: options.adapters } : {}),
    ...(options.providerFields || config.providers
      ? { providerFields: { ...config.providers, ...options.providerFields } }
      : {}),
  });
  const url = await gateway.listen({ port: 0 });
  return { url, gateway, logs, usage, close: () => gateway.close() };
}

/** A virtual key entry for a config file, and the key to present. */
export function virtualKey(
  id: string,
  extra: { userId?: string; expiresAt?: string; revokedAt?: string } = {},
) {
  const generated = generateVirtualKey();
  return {
    key: generated.key,
    entry: { id, hash: generated.hash, prefix: generated.prefix, hint: generated.hint, ...extra },
  };
}
