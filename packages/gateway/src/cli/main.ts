#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { serve } from './serve.js';

const USAGE = `Usage: keyhold serve [--config file] [--port N] [--host H]

  --config  Gateway configuration (YAML or JSON). Without it, an offline demo starts.
  --port    Port to listen on (default 4000, or server.port in the config).
  --host    Interface to bind (default 127.0.0.1, or server.host in the config).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'serve') {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  let values: { config?: string; port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`--port must be a number from 0 to 65535\n`);
    return 2;
  }
  let started: Awaited<ReturnType<typeof serve>>;
  try {
    started = await serve({
      ...(values.config ? { config: values.config } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(values.host ? { host: values.host } : {}),
    });
  } catch (error) {
    process.stderr.write(`keyhold: ${(error as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      started.gateway.logger.info({ signal }, 'shutting down: draining in-flight requests');
      started.gateway.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`keyhold: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
