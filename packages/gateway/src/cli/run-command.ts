import { parseArgs } from 'node:util';
import { VaultError } from '../vault/vault-error.js';
import { auditVerify } from './audit-command.js';
import { CliError, type CliIo, type ExitCode, UsageError } from './cli-io.js';
import { credentialsRevalidate } from './credentials-command.js';
import { keysGenerate, keysRetire, keysRotate } from './keys-commands.js';
import { migrate } from './migrate-command.js';
import { parseMode, serve } from './serve.js';
import { tuneV8ForServing } from './v8-tuning.js';
import { virtualKeysCreate } from './virtual-keys-command.js';

const STORE = `Store: PostgreSQL when DATABASE_URL is set, else embedded PGlite in --data-dir
(default $KEYHOLD_DATA_DIR or ./.keyhold/data; one process at a time). Master keys:
KEYHOLD_MASTER_KEYS ("version:base64,…") or KEYHOLD_MASTER_KEYS_FILE; the embedded store falls
back to <data-dir>/master-keys, which its first \`keyhold serve\` generates.`;

const USAGE: Record<string, string> = {
  main: `Usage: keyhold <command> [options]

Commands:
  serve                     Run the gateway (embedded store, PostgreSQL, or --config file)
  migrate                   Bring the database schema up to date
  keys generate             Print a new master key entry for KEYHOLD_MASTER_KEYS
  keys rotate               Re-encrypt every credential to the newest master key (online)
  keys retire <version>     Mark an unused master key version retired
  audit verify              Check the audit log's hash chains
  credentials revalidate    Re-check stored provider keys; mark refused ones invalid
  virtual-keys create       Create a virtual key (printed once)

Run \`keyhold <command> --help\` for its options.

${STORE}`,
  serve: `Usage: keyhold serve [--port N] [--host H] [--data-dir DIR] [--mode M] [--models FILE] [--demo]
       keyhold serve --config keyhold.yaml [--port N] [--host H]

  --config    Tenants, keys and credentials from this file (YAML or JSON) instead of the store.
  --port      Port to listen on (default 4000, or server.port in the config file).
  --host      Interface to bind (default 127.0.0.1, or server.host in the config file).
  --data-dir  The embedded store's directory.
  --mode      Deployment mode: single, shared (default) or dedicated ($KEYHOLD_MODE).
  --models    The operator's model catalogue, YAML or JSON: "aliases" (name → provider/model)
              and "list" (more provider/model ids for GET /v1/models) ($KEYHOLD_MODELS_FILE).
  --demo      Seed the demo into an empty PostgreSQL database too (the embedded store always
              seeds it on its first run).

${STORE}`,
  migrate: `Usage: keyhold migrate [--data-dir DIR]

${STORE}`,
  keys: `Usage: keyhold keys generate [--version N]
       keyhold keys rotate [--batch-size N] [--data-dir DIR]
       keyhold keys retire <version> [--data-dir DIR]

  generate  Prints "<version>:<base64 key>" on stdout (one above the configured newest version).
  rotate    Re-encrypts every credential to the newest key while the gateway serves.
  retire    Marks a version retired once no credential uses it; then remove it from keyrings.

${STORE}`,
  audit: `Usage: keyhold audit verify [--tenant <id|name|operator>] [--data-dir DIR]

Recomputes the audit log's hash chains and prints each chain's head. Exit code 3 when an event
was edited or removed.`,
  credentials: `Usage: keyhold credentials revalidate [--tenant <id|name|operator>] [--provider P] [--dry-run]
         [--concurrency N] [--timeout-ms MS] [--model <provider>=<model> …] [--data-dir DIR]

Checks every active or invalid credential in scope (a tenant's tenant, group and user
credentials; "operator" for operator keys; default all) with a one-token provider call through
the egress guard. Refused (401/403) → invalid; accepted → active, validated now; anything else
(timeout, 5xx, 429, unreachable) → unchanged and reported. Each status change is audited
(actor system:revalidate) and reaches every gateway instance on its next request. Prints one
line per credential with its hint, never a key.

  --dry-run      Check and report, write nothing.
  --concurrency  Checks in flight at once (default 4).
  --timeout-ms   Per-check timeout (default 10000).
  --model        The model to check a provider's keys with (needed for vllm, bedrock, custom
                 servers; azure uses the deployment).

Exit codes: 0 all accepted; 3 at least one key invalid (or would be, with --dry-run); 4 none
invalid but some not checked; 1 failure; 2 usage error.

${STORE}`,
  'virtual-keys': `Usage: keyhold virtual-keys create --tenant <id|name> [--user <id|email>] [--name LABEL] [--data-dir DIR]

Prints the new virtual key once on stdout; Keyhold stores only its hash.`,
};

type Command = (args: string[], io: CliIo) => Promise<ExitCode>;

const SUBCOMMANDS: Record<string, Record<string, Command>> = {
  keys: { generate: keysGenerate, rotate: keysRotate, retire: keysRetire },
  audit: { verify: auditVerify },
  credentials: { revalidate: credentialsRevalidate },
  'virtual-keys': { create: virtualKeysCreate },
};

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

/**
 * Runs one `keyhold` command line; returns the exit code (for `serve`, once the server has
 * stopped). Output goes through `io`, so tests can run commands in-process.
 */
export async function main(argv: string[], io: CliIo): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE.main!);
    return command === undefined ? 2 : 0;
  }
  const usage = USAGE[command];
  if (!usage) {
    io.err(`keyhold: unknown command "${command.slice(0, 40)}"\n\n${USAGE.main}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    io.out(usage);
    return 0;
  }
  try {
    if (command === 'serve') return await runServe(rest, io);
    if (command === 'migrate') return await migrate(rest, io);
    const [sub, ...args] = rest;
    const run = sub === undefined ? undefined : SUBCOMMANDS[command]?.[sub];
    if (!run)
      throw new UsageError(
        sub ? `unknown ${command} command "${sub.slice(0, 40)}"` : `${command} needs a command`,
      );
    return await run(args, io);
  } catch (error) {
    return report(error, usage, io);
  }
}

async function runServe(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      mode: { type: 'string' },
      models: { type: 'string' },
      demo: { type: 'boolean' },
    },
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new UsageError('--port must be a number from 0 to 65535');
  }
  tuneV8ForServing();
  const started = await serve({
    ...(values.config ? { config: values.config } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values.mode ? { mode: parseMode(values.mode) } : {}),
    ...(values.models ? { models: values.models } : {}),
    ...(values.demo ? { demo: true } : {}),
    print: io.out,
    warn: io.err,
    env: io.env,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      started.gateway.logger.info({ signal }, 'shutting down: draining in-flight requests');
      started.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

function report(error: unknown, usage: string, io: CliIo): ExitCode {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    io.err(`keyhold: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (error instanceof CliError || error instanceof VaultError) {
    io.err(`keyhold: ${error.message}`);
    return 1;
  }
  // Not our own words: name the failure without echoing anything that could hold a secret.
  const message =
    error instanceof Error ? error.message.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>') : '';
  io.err(`keyhold: failed: ${message || 'unknown error'}`);
  return 1;
}
