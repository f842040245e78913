import { type Static, Type } from '@sinclair/typebox';
import {
  createGroup,
  deleteGroup,
  type Group,
  type GroupMembership,
  getGroup,
  listGroups,
  listMembers,
  removeMembership,
  setMembership,
} from '../store/groups.js';
import { getUser } from '../store/users.js';
import { notFound } from './admin-error.js';
import { ADMINS, type AnyRouteSpec, defineRoute } from './route-spec.js';
import { Strict, Timestamp, Uuid } from './schema-helpers.js';
import { inScope } from './scope.js';

const GroupView = Type.Object(
  { id: Uuid(), name: Type.String(), created_at: Timestamp() },
  { title: 'Group' },
);
const MemberView = Type.Object(
  {
    user_id: Uuid(),
    may_use_credentials: Type.Boolean({ description: "Whether the group's credentials serve this user." }),
    created_at: Timestamp(),
  },
  { title: 'GroupMember' },
);
const GroupParams = Type.Object({ group_id: Uuid() });

const toGroupView = (g: Group): Static<typeof GroupView> => ({
  id: g.id,
  name: g.name,
  created_at: g.createdAt.toISOString(),
});
const toMemberView = (m: GroupMembership): Static<typeof MemberView> => ({
  user_id: m.userId,
  may_use_credentials: m.mayUseCredentials,
  created_at: m.createdAt.toISOString(),
});

/** Tenant admin: groups, their members, and which members may use the group's credentials. */
export function groupRoutes(): AnyRouteSpec[] {
  const common = { tag: 'Groups', roles: ADMINS, tenantScoped: true } as const;
  return [
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/groups',
      operationId: 'listGroups',
      summary: "List the tenant's groups",
      status: 200,
      response: Type.Object({ groups: Type.Array(GroupView) }),
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => ({
          groups: (await listGroups(trx, ctx.tenantId)).map(toGroupView),
        })),
    }),
    defineRoute({
      ...common,
      method: 'POST',
      path: '/api/v1/groups',
      operationId: 'createGroup',
      summary: 'Create a group',
      body: Strict({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { title: 'NewGroup' }),
      status: 201,
      response: GroupView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const group = await createGroup(trx, { tenantId: ctx.tenantId, name: ctx.body.name });
          await ctx.record(
            trx,
            { action: 'group.create', targetId: group.id },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
          return toGroupView(group);
        }),
    }),
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/groups/{group_id}',
      operationId: 'getGroup',
      summary: 'Read a group',
      params: GroupParams,
      status: 200,
      response: GroupView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const group = await getGroup(trx, ctx.tenantId, ctx.params.group_id);
          if (!group) throw notFound('group');
          return toGroupView(group);
        }),
    }),
    defineRoute({
      ...common,
      method: 'DELETE',
      path: '/api/v1/groups/{group_id}',
      operationId: 'deleteGroup',
      summary: 'Delete a group with its memberships and credentials',
      params: GroupParams,
      status: 204,
      handler: async (ctx) => {
        await inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const group = await getGroup(trx, ctx.tenantId, ctx.params.group_id);
          if (!group) throw notFound('group');
          // Group credentials reference the group only by owner id: remove them with it.
          await trx
            .deleteFrom('credentials')
            .where('ownerKind', '=', 'group')
            .where('ownerId', '=', group.id)
            .execute();
          await deleteGroup(trx, ctx.tenantId, group.id);
          await ctx.record(trx, { action: 'group.delete', targetId: group.id }, [
            { kind: 'tenant', tenantId: ctx.tenantId },
            { kind: 'credentials', tenantId: ctx.tenantId },
          ]);
        });
        return undefined;
      },
    }),
    defineRoute({
      ...common,
      method: 'GET',
      path: '/api/v1/groups/{group_id}/members',
      operationId: 'listGroupMembers',
      summary: "List a group's members",
      params: GroupParams,
      status: 200,
      response: Type.Object({ members: Type.Array(MemberView) }),
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const group = await getGroup(trx, ctx.tenantId, ctx.params.group_id);
          if (!group) throw notFound('group');
          return { members: (await listMembers(trx, ctx.tenantId, group.id)).map(toMemberView) };
        }),
    }),
    defineRoute({
      ...common,
      method: 'POST',
      path: '/api/v1/groups/{group_id}/members',
      operationId: 'setGroupMember',
      summary: "Add a user to a group, or change whether they may use the group's credentials",
      params: GroupParams,
      body: Strict(
        { user_id: Uuid(), may_use_credentials: Type.Optional(Type.Boolean({ default: false })) },
        { title: 'GroupMemberInput' },
      ),
      status: 200,
      response: MemberView,
      handler: async (ctx) =>
        inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const group = await getGroup(trx, ctx.tenantId, ctx.params.group_id);
          if (!group) throw notFound('group');
          const user = await getUser(trx, ctx.tenantId, ctx.body.user_id);
          if (!user) throw notFound('user');
          const membership = await setMembership(trx, {
            tenantId: ctx.tenantId,
            groupId: group.id,
            userId: user.id,
            mayUseCredentials: ctx.body.may_use_credentials ?? false,
          });
          await ctx.record(
            trx,
            {
              action: 'group.member.set',
              targetId: group.id,
              details: { user_id: user.id, may_use_credentials: membership.mayUseCredentials },
            },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
          return toMemberView(membership);
        }),
    }),
    defineRoute({
      ...common,
      method: 'DELETE',
      path: '/api/v1/groups/{group_id}/members/{user_id}',
      operationId: 'removeGroupMember',
      summary: 'Remove a user from a group',
      params: Type.Object({ group_id: Uuid(), user_id: Uuid() }),
      status: 204,
      handler: async (ctx) => {
        await inScope(ctx.deps.db, ctx.tenantId, async (trx) => {
          const removed = await removeMembership(trx, {
            tenantId: ctx.tenantId,
            groupId: ctx.params.group_id,
            userId: ctx.params.user_id,
          });
          if (!removed) throw notFound('membership');
          await ctx.record(
            trx,
            {
              action: 'group.member.remove',
              targetId: ctx.params.group_id,
              details: { user_id: ctx.params.user_id },
            },
            { kind: 'tenant', tenantId: ctx.tenantId },
          );
        });
        return undefined;
      },
    }),
  ];
}
