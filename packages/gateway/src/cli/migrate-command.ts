import { parseArgs } from 'node:util';
import type { CliIo, ExitCode } from './cli-io.js';
import { openStore } from './open-store.js';

/** `keyhold migrate`: brings the store's schema up to date and says what it applied. */
export async function migrate(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } } });
  const store = await openStore({
    env: io.env,
    withoutKeyring: true,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  try {
    io.out(
      store.applied.length > 0
        ? `Applied ${store.applied.length} migration(s) on ${store.where}: ${store.applied.join(', ')}`
        : `The schema on ${store.where} is up to date.`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
