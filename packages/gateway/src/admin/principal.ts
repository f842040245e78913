/** Who is calling the admin API. */
export type Principal =
  | { role: 'operator' }
  | { role: 'tenant_admin' | 'member'; tenantId: string; userId: string; virtualKeyId: string };

export type Role = Principal['role'];

/** The audit log's name for a principal: `operator` or `user:<id>`. */
export function actorOf(principal: Principal): string {
  return principal.role === 'operator' ? 'operator' : `user:${principal.userId}`;
}
