import { type Static, Type } from '@sinclair/typebox';
import type { User } from '../store/users.js';
import { createUser, deleteUser, getUser, listUsers, updateUser } from '../store/users.js';
import { listVirtualKeys } from '../store/virtual-keys.js';
import { forbidden, notFound } from './admin-error.js';
import { ADMINS, ALL_ROLES, type AnyRouteSpec, defineRoute, USERS } from './route-spec.js';
import { Strict, StringEnum, Timestamp, Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';

export const Role = StringEnum(['tenant_admin', 'member'] as const);
const Email = Type.String({ format: 'email', maxLength: 320 });
const Name = Type.String({ minLength: 1, maxLength: 200 });

export const UserView = Type.Object(
  {
    id: Uuid(),
    email: Type.String(),
    name: Type.String(),
    role: Role,
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { title: 'User' },
);
type UserView = Static<typeof UserView>;

const UserParams = Type.Object({ user_id: Uuid() });

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

/** Tenant admin: the tenant's users. Nobody changes their own role or deletes themselves. */
export function userRoutes(): AnyRouteSpec[] {
  const common = { tag: 'Users', roles: ADMINS, tenantScoped: true } as const;
  return [
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/users',
      operationId: 'listUsers',
      summary: "List the tenant's users",
      status: 200,
      response: Type.Object({ users: Type.Array(UserView) }),
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => ({
          users: (await listUsers(trx, ctx.tenantId)).map(toUserView),
        })),
    }),
    defineRoute({
      ...common,
      method: 'POST',
      path: '/api/v1/users',
      operationId: 'createUser',
      summary: 'Add a user to the tenant',
      body: Strict({ email: Email, name: Name, role: Role }, { title: 'NewUser' }),
      status: 201,
      response: UserView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const user = await createUser(trx, { tenantId: ctx.tenantId, ...ctx.body });
          await ctx.record(
            trx,
            { action: 'user.create', targetId: user.id, details: { role: user.role } },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
          return toUserView(user);
        }),
    }),
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/users/{user_id}',
      operationId: 'getUser',
      summary: 'Read a user',
      params: UserParams,
      status: 200,
      response: UserView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const user = await getUser(trx, ctx.tenantId, ctx.params.user_id);
          if (!user) throw notFound('user');
          return toUserView(user);
        }),
    }),
    defineRoute({
      ...common,
      method: 'PATCH',
      path: '/api/v1/users/{user_id}',
      operationId: 'updateUser',
      summary: "Change a user's email, name or role (not your own role)",
      params: UserParams,
      body: Strict(
        { email: Type.Optional(Email), name: Type.Optional(Name), role: Type.Optional(Role) },
        { title: 'UserUpdate' },
      ),
      status: 200,
      response: UserView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const user = await getUser(trx, ctx.tenantId, ctx.params.user_id);
          if (!user) throw notFound('user');
          const self = ctx.principal.role !== 'operator' && ctx.principal.userId === user.id;
          if (self && ctx.body.role !== undefined && ctx.body.role !== user.role) {
            throw forbidden('You cannot change your own role');
          }
          const updated = await updateUser(trx, ctx.tenantId, user.id, ctx.body);
          if (!updated) throw notFound('user');
          await ctx.record(
            trx,
            {
              action: 'user.update',
              targetId: user.id,
              details: { fields: Object.keys(ctx.body), ...(ctx.body.role ? { role: ctx.body.role } : {}) },
            },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
          return toUserView(updated);
        }),
    }),
    defineRoute({
      ...common,
      method: 'DELETE',
      path: '/api/v1/users/{user_id}',
      operationId: 'deleteUser',
      summary: 'Remove a user with their keys, credentials and memberships (not yourself)',
      params: UserParams,
      status: 204,
      handler: async (ctx) => {
        if (ctx.principal.role !== 'operator' && ctx.principal.userId === ctx.params.user_id) {
          throw forbidden('You cannot delete yourself');
        }
        await inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const userId = ctx.params.user_id;
          if (!(await getUser(trx, ctx.tenantId, userId))) throw notFound('user');
          // Keys go by cascade; their hashes are announced so no instance keeps accepting them.
          const keys = await listVirtualKeys(trx, ctx.tenantId, { userId });
          // Credentials name their owner by id only (no foreign key): removed with the user.
          await trx
            .deleteFrom('credentials')
            .where('ownerKind', '=', 'user')
            .where('ownerId', '=', userId)
            .execute();
          await deleteUser(trx, ctx.tenantId, userId);
          await ctx.record(trx, { action: 'user.delete', targetId: userId }, [
            { kind: 'tenant', tenantId: ctx.tenantId },
            { kind: 'credentials', tenantId: ctx.tenantId },
            ...keys.map((k) => ({ kind: 'virtual-key' as const, hash: k.keyHash })),
          ]);
        });
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/me',
      operationId: 'getMe',
      summary: 'Who is calling: the role, and the user and tenant behind a virtual key',
      tag: 'Me',
      roles: ALL_ROLES,
      status: 200,
      response: Type.Object(
        {
          role: StringEnum(['operator', 'tenant_admin', 'member'] as const),
          tenant_id: Type.Optional(Uuid()),
          user: Type.Optional(UserView),
        },
        { title: 'Me' },
      ),
      handler: async (ctx) => {
        const p = ctx.principal;
        if (p.role === 'operator') return { role: 'operator' };
        const user = await inScope(ctx.deps.db, p.tenantId, (trx) => getUser(trx, p.tenantId, p.userId));
        if (!user) throw notFound('user');
        return { role: user.role, tenant_id: p.tenantId, user: toUserView(user) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/me',
      operationId: 'updateMe',
      summary: 'Change your own name or email (a role is not a field here)',
      tag: 'Me',
      roles: USERS,
      tenantScoped: true,
      body: Strict({ email: Type.Optional(Email), name: Type.Optional(Name) }, { title: 'SelfUpdate' }),
      status: 200,
      response: UserView,
      handler: async (ctx) => {
        const p = ctx.principal;
        if (p.role === 'operator') throw notFound('user');
        return inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const updated = await updateUser(trx, ctx.tenantId, p.userId, ctx.body);
          if (!updated) throw notFound('user');
          await ctx.record(
            trx,
            { action: 'user.update', targetId: p.userId, details: { fields: Object.keys(ctx.body) } },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
          return toUserView(updated);
        });
      },
    }),
  ];
}
