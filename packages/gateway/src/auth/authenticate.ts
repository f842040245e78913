import type { Directory, Membership, Tenant, User } from '../routing/directory.js';
import { checkVirtualKeyFormat, hashesEqual, hashVirtualKey } from './virtual-key.js';

/** Who is calling: the virtual key's tenant, optional user and the user's group memberships. */
export interface Caller {
  tenant: Tenant;
  user?: User;
  memberships: Membership[];
  virtualKeyId: string;
}

export type AuthFailure = {
  ok: false;
  status: 401 | 403;
  code: 'missing_api_key' | 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key' | 'account_disabled';
  message: string;
};

export type AuthResult = { ok: true; caller: Caller } | AuthFailure;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Picks the presented virtual key out of the request headers: `Authorization: Bearer …`, and on
 * the Anthropic surface also `x-api-key` (what Anthropic's SDKs send).
 */
export function presentedKey(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  allowXApiKey: boolean,
): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') {
    const match = BEARER.exec(authorization);
    return match ? match[1] : '';
  }
  const xApiKey = headers['x-api-key'];
  if (allowXApiKey && typeof xApiKey === 'string') return xApiKey.trim();
  return undefined;
}

/**
 * Authenticates a virtual key. The checksum is verified before any lookup, so garbage never costs
 * a directory round trip; the stored hash is compared in constant time. Refusals are values.
 */
export async function authenticate(directory: Directory, key: string | undefined): Promise<AuthResult> {
  if (key === undefined || key === '') {
    return fail(401, 'missing_api_key', 'Missing virtual key: send "Authorization: Bearer kh_…"');
  }
  if (!checkVirtualKeyFormat(key)) {
    return fail(401, 'invalid_api_key', 'Malformed virtual key: expected a Keyhold key "kh_…"');
  }
  const hash = hashVirtualKey(key);
  const record = await directory.findVirtualKey(hash);
  if (!record || !hashesEqual(record.hash, hash)) return fail(401, 'invalid_api_key', 'Invalid virtual key');
  if (record.revokedAt && record.revokedAt.getTime() <= Date.now()) {
    return fail(401, 'revoked_api_key', 'This virtual key has been revoked');
  }
  if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
    return fail(401, 'expired_api_key', 'This virtual key has expired');
  }
  const tenant = await directory.getTenant(record.tenantId);
  if (tenant?.status !== 'active') {
    return fail(403, 'account_disabled', 'The tenant of this virtual key is suspended');
  }
  if (record.userId === undefined) {
    return { ok: true, caller: { tenant, memberships: [], virtualKeyId: record.id } };
  }
  const [user, memberships] = await Promise.all([
    directory.getUser(tenant.id, record.userId),
    directory.listMemberships(tenant.id, record.userId),
  ]);
  if (user?.status !== 'active') {
    return fail(403, 'account_disabled', 'The user of this virtual key is disabled');
  }
  return { ok: true, caller: { tenant, user, memberships, virtualKeyId: record.id } };
}

function fail(status: 401 | 403, code: AuthFailure['code'], message: string): AuthFailure {
  return { ok: false, status, code, message };
}
