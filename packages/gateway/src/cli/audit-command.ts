import { parseArgs } from 'node:util';
import { verifyAuditChain } from '../store/audit-log.js';
import type { CliIo, ExitCode } from './cli-io.js';
import { findTenantId } from './find-tenant.js';
import { openStore } from './open-store.js';

/**
 * `keyhold audit verify [--tenant <id|name|operator>]`: recomputes the hash chains (one tenant's,
 * the operator's, or all) and prints each chain's head, to compare with a head kept elsewhere.
 * Exit 3 when an event was edited or removed.
 */
export async function auditVerify(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: { tenant: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  const store = await openStore({
    env: io.env,
    withoutKeyring: true,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  try {
    const { db } = store.database;
    const chain =
      values.tenant === undefined
        ? undefined
        : values.tenant === 'operator'
          ? null
          : await findTenantId(db, values.tenant);
    const result = await verifyAuditChain(db, chain);
    if (!result.ok) {
      io.err(
        `Audit chain of ${result.tenantId ?? 'the operator'} is broken at event ${result.position}: ${result.problem.replaceAll('_', ' ')}`,
      );
      return 3;
    }
    io.out(`Audit log intact: ${result.events} event(s) in ${result.heads.length} chain(s).`);
    for (const head of result.heads) {
      io.out(`  ${head.tenantId ?? 'operator'}: ${head.position} event(s), head ${head.hash}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
