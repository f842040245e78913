import { randomBytes } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { createUndiciTransport } from '@keyhold/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createEgressAgent } from '../../egress/egress-agent.js';
import { createSsrfPolicy, type SsrfPolicy } from '../../egress/ssrf-policy.js';
import { createLogger } from '../../http/logger.js';
import type { AuditEvent } from '../../store/audit-log.js';
import type { Backend } from '../../store/database.js';
import { openTestDatabase, type TestDatabase } from '../../store/testing/backends.js';
import { createKeyring } from '../../vault/keyring.js';
import { createVault, type Vault } from '../../vault/vault.js';
import { createAdminApi } from '../admin-api.js';
import type { AdminChange } from '../admin-deps.js';

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
  body: any;
  text: string;
}

/** Who sends a request: the operator, nobody, or a virtual key. */
export type As = 'operator' | 'anonymous' | { key: string };

export interface AdminHarness {
  app: FastifyInstance;
  database: TestDatabase;
  vault: Vault;
  ssrf: SsrfPolicy;
  operatorToken: string;
  /** Every log line the server wrote. */
  logs: string[];
  /** Every response body and header set, for leak checks. */
  seen: string[];
  changes: AdminChange[];
  call(
    as: As,
    method: string,
    url: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** A Fastify server with the admin plugin over a fresh database of the given backend. */
export async function startAdmin(
  backend: Backend,
  options: { operatorToken?: string; egressLookup?: LookupFunction } = {},
): Promise<AdminHarness> {
  const database = await openTestDatabase(backend);
  const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
  const ssrf = createSsrfPolicy();
  const logs: string[] = [];
  const seen: string[] = [];
  const changes: AdminChange[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => logs.push(line) } });
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
  const operatorToken = options.operatorToken ?? `op-${randomBytes(24).toString('hex')}`;
  await app.register(
    createAdminApi({
      db: database.db,
      vault,
      operatorToken,
      ssrf,
      onChange: (change) => {
        changes.push(change);
      },
      // The default transport is the same egress agent; a test may give it its own DNS.
      ...(options.egressLookup
        ? {
            transport: createUndiciTransport({
              dispatcher: createEgressAgent({ policy: ssrf, lookup: options.egressLookup }),
            }),
          }
        : {}),
    }),
  );
  await app.ready();
  return {
    app,
    database,
    vault,
    ssrf,
    operatorToken,
    logs,
    seen,
    changes,
    async call(as, method, url, { body, headers = {} } = {}) {
      const authorization =
        as === 'operator' ? `Bearer ${operatorToken}` : as === 'anonymous' ? undefined : `Bearer ${as.key}`;
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      seen.push(JSON.stringify(response.headers), response.body);
      let parsed: unknown;
      try {
        parsed = response.body === '' ? undefined : JSON.parse(response.body);
      } catch {
        parsed = undefined;
      }
      return { status: response.statusCode, body: parsed, text: response.body };
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/** A tenant with an admin and a member, each with a virtual key, made through the API. */
export interface SeededTenant {
  id: string;
  admin: { id: string; key: string };
  member: { id: string; key: string };
}

export async function seedTenant(h: AdminHarness, name: string): Promise<SeededTenant> {
  const tenant = await h.call('operator', 'POST', '/api/v1/tenants', { body: { name } });
  if (tenant.status !== 201) throw new Error(`seed: tenant ${tenant.status} ${tenant.text}`);
  const id = tenant.body.id as string;
  const headers = { 'x-keyhold-tenant': id };
  const user = async (role: string) => {
    const created = await h.call('operator', 'POST', '/api/v1/users', {
      headers,
      body: { email: `${role}@${name.toLowerCase()}.test`, name: `${name} ${role}`, role },
    });
    if (created.status !== 201) throw new Error(`seed: user ${created.status} ${created.text}`);
    const key = await h.call('operator', 'POST', '/api/v1/virtual-keys', {
      headers,
      body: { name: `${role} key`, user_id: created.body.id },
    });
    if (key.status !== 201) throw new Error(`seed: key ${key.status} ${key.text}`);
    return { id: created.body.id as string, key: key.body.key as string };
  };
  return { id, admin: await user('tenant_admin'), member: await user('member') };
}

/** Every audit event of the database, oldest first (system scope). */
export async function allAuditEvents(h: AdminHarness): Promise<AuditEvent[]> {
  const rows = await h.database.db.selectFrom('auditEvents').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({ ...r, position: Number(r.position) }) as unknown as AuditEvent);
}
