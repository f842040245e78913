import type { Kysely } from 'kysely';
import type { Schema, UserRole, UserRow } from './schema.js';

export type User = UserRow;

export interface NewUser {
  tenantId: string;
  email: string;
  name: string;
  role: UserRole;
}

export async function createUser(db: Kysely<Schema>, input: NewUser): Promise<User> {
  return db.insertInto('users').values(input).returningAll().executeTakeFirstOrThrow();
}

/** A user of this tenant; another tenant's user id finds nothing. */
export async function getUser(db: Kysely<Schema>, tenantId: string, id: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listUsers(db: Kysely<Schema>, tenantId: string): Promise<User[]> {
  return db.selectFrom('users').selectAll().where('tenantId', '=', tenantId).orderBy('email').execute();
}

export async function updateUser(
  db: Kysely<Schema>,
  tenantId: string,
  id: string,
  patch: { email?: string; name?: string; role?: UserRole },
): Promise<User | undefined> {
  return db
    .updateTable('users')
    .set({ ...patch, updatedAt: new Date() })
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteUser(db: Kysely<Schema>, tenantId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('users')
    .where('tenantId', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
