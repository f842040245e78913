import { parseArgs } from 'node:util';
import { generateVirtualKey } from '../auth/virtual-key.js';
import { appendAuditEvent } from '../store/audit-log.js';
import { notifyDirectoryChange } from '../store/directory-changes.js';
import { createVirtualKey } from '../store/virtual-keys.js';
import { type CliIo, type ExitCode, UsageError } from './cli-io.js';
import { findTenantId, findUserId } from './find-tenant.js';
import { openStore } from './open-store.js';

/**
 * `keyhold virtual-keys create --tenant <id|name> [--user <id|email>] [--name <label>]`: creates a
 * virtual key and prints it once on stdout; only its hash is stored. Audited as the operator.
 */
export async function virtualKeysCreate(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  if (!values.tenant) throw new UsageError('virtual-keys create needs --tenant <id or name>');
  const store = await openStore({
    env: io.env,
    withoutKeyring: true,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  try {
    const { db } = store.database;
    const tenantId = await findTenantId(db, values.tenant);
    const userId = values.user ? await findUserId(db, tenantId, values.user) : undefined;
    const generated = generateVirtualKey();
    const record = await db.transaction().execute(async (trx) => {
      const key = await createVirtualKey(trx, {
        tenantId,
        userId: userId ?? null,
        keyHash: generated.hash,
        prefix: generated.prefix,
        hint: generated.hint,
        name: values.name ?? 'cli',
      });
      await appendAuditEvent(trx, {
        tenantId,
        actor: 'operator:cli',
        action: 'virtual_key.create',
        targetId: key.id,
        details: { prefix: key.prefix, hint: key.hint, ...(userId ? { userId } : {}) },
      });
      await notifyDirectoryChange(trx, { kind: 'virtual-key', hash: generated.hash });
      return key;
    });
    io.err(
      `Virtual key ${record.id} for tenant ${tenantId}${userId ? `, user ${userId}` : ''} (shown once):`,
    );
    io.out(generated.key);
    return 0;
  } finally {
    await store.close();
  }
}
