import { type Static, Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { generateVirtualKey } from '../auth/virtual-key.js';
import type { Schema } from '../store/schema.js';
import { getUser } from '../store/users.js';
import {
  createVirtualKey,
  listVirtualKeys,
  revokeVirtualKey,
  type VirtualKeyRecord,
} from '../store/virtual-keys.js';
import { badRequest, notFound } from './admin-error.js';
import type { Principal } from './principal.js';
import { ALL_ROLES, type AnyRouteSpec, defineRoute } from './route-spec.js';
import { iso, Nullable, Strict, Timestamp, Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';

const VirtualKeyView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    prefix: Type.String({ description: 'The visible start of the key, e.g. `kh_AbCd`.' }),
    hint: Type.String({ description: 'The last characters of the key, e.g. `…wxyz`.' }),
    user_id: Nullable(Uuid()),
    expires_at: Nullable(Timestamp()),
    revoked_at: Nullable(Timestamp()),
    created_at: Timestamp(),
    last_used_at: Nullable(Timestamp()),
  },
  { title: 'VirtualKey' },
);
type VirtualKeyView = Static<typeof VirtualKeyView>;

const CreatedVirtualKey = Type.Object(
  {
    ...VirtualKeyView.properties,
    key: Type.String({ description: 'The key itself. Shown in this response only: it is stored as a hash.' }),
  },
  { title: 'CreatedVirtualKey' },
);

const KeyParams = Type.Object({ key_id: Uuid() });

const toView = (k: VirtualKeyRecord): VirtualKeyView => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  hint: k.hint,
  user_id: k.userId,
  expires_at: iso(k.expiresAt),
  revoked_at: iso(k.revokedAt),
  created_at: k.createdAt.toISOString(),
  last_used_at: iso(k.lastUsedAt),
});

/** A member sees and manages only its own keys; admins and the operator every key of the tenant. */
const ownOnly = (p: Principal): string | undefined => (p.role === 'member' ? p.userId : undefined);

async function findKey(
  db: Kysely<Schema>,
  tenantId: string,
  principal: Principal,
  id: string,
): Promise<VirtualKeyRecord> {
  const own = ownOnly(principal);
  const keys = await listVirtualKeys(db, tenantId, own ? { userId: own } : {});
  const key = keys.find((k) => k.id === id);
  if (!key) throw notFound('virtual key');
  return key;
}

/** Virtual keys: created with the secret shown once, listed by prefix and hint, revoked. */
export function virtualKeyRoutes(): AnyRouteSpec[] {
  const common = { tag: 'Virtual keys', roles: ALL_ROLES, tenantScoped: true } as const;
  return [
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/virtual-keys',
      operationId: 'listVirtualKeys',
      summary: "List virtual keys (a member: its own; an admin: the tenant's, or one user's)",
      query: Type.Object({ user_id: Type.Optional(Uuid()) }),
      status: 200,
      response: Type.Object({ virtual_keys: Type.Array(VirtualKeyView) }),
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const own = ownOnly(ctx.principal);
          const requested = ctx.query.user_id;
          if (requested !== undefined) {
            if (own !== undefined && requested !== own) throw notFound('user');
            if (!(await getUser(trx, ctx.tenantId, requested))) throw notFound('user');
          }
          const userId = own ?? requested;
          const keys = await listVirtualKeys(trx, ctx.tenantId, userId ? { userId } : {});
          return { virtual_keys: keys.map(toView) };
        }),
    }),
    defineRoute({
      ...common,
      method: 'POST',
      path: '/api/v1/virtual-keys',
      operationId: 'createVirtualKey',
      summary: 'Create a virtual key; the response carries the key, once',
      description:
        'Without `user_id` the key belongs to the caller (the operator: a tenant-wide key with no user). ' +
        'A member may create keys for itself only; an admin for any user of the tenant.',
      body: Strict(
        {
          name: Type.String({ minLength: 1, maxLength: 200 }),
          user_id: Type.Optional(Uuid()),
          expires_at: Type.Optional(Timestamp()),
        },
        { title: 'NewVirtualKey' },
      ),
      status: 201,
      response: CreatedVirtualKey,
      handler: async (ctx) => {
        const p = ctx.principal;
        const expiresAt = ctx.body.expires_at === undefined ? null : new Date(ctx.body.expires_at);
        if (expiresAt && expiresAt.getTime() <= Date.now()) {
          throw badRequest('expires_at', 'The expiry must be in the future');
        }
        return inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const own = ownOnly(p);
          if (own !== undefined && ctx.body.user_id !== undefined && ctx.body.user_id !== own) {
            throw notFound('user');
          }
          const userId = ctx.body.user_id ?? (p.role === 'operator' ? null : p.userId);
          if (userId !== null && !(await getUser(trx, ctx.tenantId, userId))) throw notFound('user');
          const generated = generateVirtualKey();
          const record = await createVirtualKey(trx, {
            tenantId: ctx.tenantId,
            userId,
            keyHash: generated.hash,
            prefix: generated.prefix,
            hint: generated.hint,
            name: ctx.body.name,
            expiresAt,
          });
          await ctx.record(
            trx,
            {
              action: 'virtual_key.create',
              targetId: record.id,
              details: { user_id: userId, prefix: record.prefix, hint: record.hint },
            },
            { kind: 'virtual-key', hash: record.keyHash },
          );
          return { ...toView(record), key: generated.key };
        });
      },
    }),
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/virtual-keys/{key_id}',
      operationId: 'getVirtualKey',
      summary: 'Read a virtual key (prefix and hint only)',
      params: KeyParams,
      status: 200,
      response: VirtualKeyView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) =>
          toView(await findKey(trx, ctx.tenantId, ctx.principal, ctx.params.key_id)),
        ),
    }),
    defineRoute({
      ...common,
      method: 'DELETE',
      path: '/api/v1/virtual-keys/{key_id}',
      operationId: 'revokeVirtualKey',
      summary: 'Revoke a virtual key (it stops working on the next request)',
      params: KeyParams,
      status: 200,
      response: VirtualKeyView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const key = await findKey(trx, ctx.tenantId, ctx.principal, ctx.params.key_id);
          if (await revokeVirtualKey(trx, ctx.tenantId, key.id)) {
            await ctx.record(
              trx,
              {
                action: 'virtual_key.revoke',
                targetId: key.id,
                details: { prefix: key.prefix, hint: key.hint },
              },
              { kind: 'virtual-key', hash: key.keyHash },
            );
          }
          return toView(await findKey(trx, ctx.tenantId, ctx.principal, key.id));
        }),
    }),
  ];
}
