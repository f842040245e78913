import { createHash, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { checkVirtualKeyFormat, hashesEqual, hashVirtualKey } from '../auth/virtual-key.js';
import type { Schema } from '../store/schema.js';
import { getTenant } from '../store/tenants.js';
import { getUser } from '../store/users.js';
import { findVirtualKeyByHash } from '../store/virtual-keys.js';
import { AdminError } from './admin-error.js';
import type { Principal } from './principal.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

const unauthorized = (message: string) => new AdminError(401, 'unauthorized', message);

/**
 * Who sent this `Authorization` header: the operator (the bootstrap token, compared in constant
 * time), or the user behind a virtual key (looked up by its hash). A key without a user, a
 * revoked or expired key, or a suspended tenant is refused. Throws `AdminError` 401 / 403.
 */
export async function authenticateAdmin(
  db: Kysely<Schema>,
  operatorToken: string,
  authorization: string | undefined,
): Promise<Principal> {
  if (authorization === undefined || authorization === '') {
    throw unauthorized('Send "Authorization: Bearer <operator token or virtual key>"');
  }
  const presented = BEARER.exec(authorization)?.[1];
  if (presented === undefined) throw unauthorized('Malformed Authorization header: expected "Bearer …"');
  if (tokensEqual(presented, operatorToken)) return { role: 'operator' };
  if (!checkVirtualKeyFormat(presented)) throw unauthorized('Invalid credentials');
  const hash = hashVirtualKey(presented);
  const record = await findVirtualKeyByHash(db, hash);
  if (!record || !hashesEqual(record.keyHash, hash)) throw unauthorized('Invalid credentials');
  const now = Date.now();
  if (record.revokedAt && record.revokedAt.getTime() <= now)
    throw unauthorized('This virtual key is revoked');
  if (record.expiresAt && record.expiresAt.getTime() <= now)
    throw unauthorized('This virtual key has expired');
  if (record.userId === null) {
    throw new AdminError(403, 'forbidden', 'A virtual key without a user cannot use the admin API');
  }
  const [tenant, user] = await Promise.all([
    getTenant(db, record.tenantId),
    getUser(db, record.tenantId, record.userId),
  ]);
  if (!tenant || !user) throw unauthorized('Invalid credentials');
  if (tenant.status !== 'active') throw new AdminError(403, 'tenant_suspended', 'The tenant is suspended');
  return { role: user.role, tenantId: tenant.id, userId: user.id, virtualKeyId: record.id };
}

/** Constant-time comparison of two tokens of any length (both are hashed first). */
function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
