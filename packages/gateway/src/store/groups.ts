import type { Kysely } from 'kysely';
import type { GroupMembershipRow, GroupRow, Schema } from './schema.js';

export type Group = GroupRow;
export type GroupMembership = GroupMembershipRow;

export async function createGroup(
  db: Kysely<Schema>,
  input: { tenantId: string; name: string },
): Promise<Group> {
  return db.insertInto('groups').values(input).returningAll().executeTakeFirstOrThrow();
}

export async function getGroup(db: Kysely<Schema>, tenantId: string, id: string): Promise<Group | undefined> {
  return db
    .selectFrom('groups')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listGroups(db: Kysely<Schema>, tenantId: string): Promise<Group[]> {
  return db.selectFrom('groups').selectAll().where('tenantId', '=', tenantId).orderBy('name').execute();
}

export async function deleteGroup(db: Kysely<Schema>, tenantId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('groups')
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Adds a user to a group, or changes whether they may use the group's credentials. The
 * database refuses a group and a user of different tenants (composite foreign keys).
 */
export async function setMembership(
  db: Kysely<Schema>,
  input: { tenantId: string; groupId: string; userId: string; mayUseCredentials: boolean },
): Promise<GroupMembership> {
  return db
    .insertInto('groupMemberships')
    .values(input)
    .onConflict((oc) =>
      oc.columns(['groupId', 'userId']).doUpdateSet({ mayUseCredentials: input.mayUseCredentials }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function removeMembership(
  db: Kysely<Schema>,
  input: { tenantId: string; groupId: string; userId: string },
): Promise<boolean> {
  const result = await db
    .deleteFrom('groupMemberships')
    .where('tenantId', '=', input.tenantId)
    .where('groupId', '=', input.groupId)
    .where('userId', '=', input.userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listMembers(
  db: Kysely<Schema>,
  tenantId: string,
  groupId: string,
): Promise<GroupMembership[]> {
  return db
    .selectFrom('groupMemberships')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .where('groupId', '=', groupId)
    .execute();
}

/** The groups a user belongs to, oldest first (the order group credentials are tried in). */
export async function groupsOfUser(
  db: Kysely<Schema>,
  tenantId: string,
  userId: string,
): Promise<GroupMembership[]> {
  return db
    .selectFrom('groupMemberships')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .where('userId', '=', userId)
    .orderBy('createdAt')
    .orderBy('groupId')
    .execute();
}
