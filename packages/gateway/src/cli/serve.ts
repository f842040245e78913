import { readFile } from 'node:fs/promises';
import { createGateway, type Gateway } from '../create-gateway.js';
import { createLogger } from '../http/logger.js';
import { createPriceTable } from '../metering/price-table.js';
import { createConfigDirectory } from '../routing/config-directory.js';
import { type GatewayConfig, parseGatewayConfig } from '../routing/config-schema.js';
import { demoConfig } from './demo-config.js';

export interface ServeOptions {
  config?: string;
  port?: number;
  host?: string;
  /** Where the first-call instructions go (default stdout). */
  print?: (text: string) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * `keyhold serve`: loads the configuration file (or the offline demo configuration), starts the
 * gateway, and returns it. Configuration problems are thrown as one error listing them all.
 */
export async function serve(options: ServeOptions): Promise<{ gateway: Gateway; url: string }> {
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const env = options.env ?? process.env;
  let config: GatewayConfig;
  let demoKey: string | undefined;
  if (options.config) {
    const text = await readFile(options.config, 'utf8');
    const parsed = parseGatewayConfig(text);
    if (!parsed.ok)
      throw new Error(`Invalid configuration ${options.config}:\n  ${parsed.errors.join('\n  ')}`);
    config = parsed.config;
  } else {
    const demo = demoConfig();
    config = demo.config;
    demoKey = demo.virtualKey;
  }
  const loaded = createConfigDirectory(config, { env });
  if (!loaded.ok) throw new Error(`Invalid configuration:\n  ${loaded.errors.join('\n  ')}`);

  const gateway = createGateway({
    directory: loaded.directory,
    catalogue: { aliases: config.models?.aliases ?? {}, list: config.models?.list ?? [] },
    ...(config.providers ? { providerFields: config.providers } : {}),
    logger: createLogger({ level: env.KEYHOLD_LOG_LEVEL ?? 'info' }),
    ...(config.server?.bodyLimit !== undefined ? { bodyLimit: config.server.bodyLimit } : {}),
    // REDIS_URL set: rate limits and budgets are shared by every instance on that Redis.
    ...(env.REDIS_URL ? { limits: { redisUrl: env.REDIS_URL } } : {}),
    ...(config.pricing?.overrides
      ? { prices: createPriceTable({ overrides: config.pricing.overrides }) }
      : {}),
  });
  const port = options.port ?? config.server?.port ?? 4000;
  const host = options.host ?? config.server?.host ?? '127.0.0.1';
  const url = await gateway.listen({ port, host });
  if (demoKey) print(firstCallInstructions(url, demoKey));
  return { gateway, url };
}

function firstCallInstructions(url: string, key: string): string {
  return [
    '',
    `Keyhold is running at ${url} with a demo configuration (no config file given):`,
    '  tenant "demo", the offline "fake" provider as operator key, model alias "demo".',
    '',
    `Demo virtual key (shown once, valid until this process exits): ${key}`,
    '',
    'Make a first call:',
    `  curl ${url}/v1/chat/completions \\`,
    `    -H 'Authorization: Bearer ${key}' \\`,
    `    -H 'Content-Type: application/json' \\`,
    `    -d '{"model":"demo","messages":[{"role":"user","content":"Hello, Keyhold!"}]}'`,
    '',
    'Or point any OpenAI client at it: baseURL = ' + `${url}/v1` + ', apiKey = the virtual key.',
    'Start with your own tenants and keys: keyhold serve --config keyhold.yaml',
    '',
  ].join('\n');
}
