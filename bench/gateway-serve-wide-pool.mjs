#!/usr/bin/env node
// `keyhold serve --config FILE --port N`, built from the same public pieces as
// packages/gateway/src/cli/serve.ts, with one difference: the upstream transport's connection pool
// per provider origin is --upstream-connections wide (default 65536) instead of core's default.
//
// Why it exists: the RSS benchmark opens 5,000 concurrent slow streams, and the shipped gateway
// uses core's default transport, whose pool (128 connections per origin) queues every stream past
// the 128th until an earlier one ends. This launcher measures what an open stream costs the
// gateway once that limit is lifted, next to the shipped gateway's figure. Needs `npm run build`.
//
//   node bench/gateway-serve-wide-pool.mjs --config keyhold.json --port 4000
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createUndiciTransport } from '@keyhold/core';
import { createConfigDirectory, createGateway, createLogger, parseGatewayConfig } from '@keyhold/gateway';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    port: { type: 'string', default: '4000' },
    'upstream-connections': { type: 'string', default: '65536' },
  },
});
if (!values.config) {
  process.stderr.write(
    'usage: node bench/gateway-serve-wide-pool.mjs --config FILE [--port N] [--upstream-connections N]\n',
  );
  process.exit(2);
}

const parsed = parseGatewayConfig(await readFile(values.config, 'utf8'));
if (!parsed.ok) throw new Error(`Invalid configuration:\n  ${parsed.errors.join('\n  ')}`);
const config = parsed.config;
const loaded = createConfigDirectory(config, { env: process.env });
if (!loaded.ok) throw new Error(`Invalid configuration:\n  ${loaded.errors.join('\n  ')}`);

const gateway = createGateway({
  directory: loaded.directory,
  catalogue: { aliases: config.models?.aliases ?? {}, list: config.models?.list ?? [] },
  ...(config.providers ? { providerFields: config.providers } : {}),
  logger: createLogger({ level: process.env.KEYHOLD_LOG_LEVEL ?? 'info' }),
  transport: createUndiciTransport({ connections: Number(values['upstream-connections']) }),
});
await gateway.listen({ port: Number(values.port), host: '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => gateway.close().then(() => process.exit(0)));
}
