import { sql } from 'kysely';
import type { Database } from '../database.js';

/**
 * Every value of every table of the store as text, binary columns in each rendering a dump might
 * use (hex, base64, latin1): what leak tests search for key fragments.
 */
export async function dumpDatabase(database: Pick<Database, 'db'>): Promise<string> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(database.db);
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(database.db);
    for (const row of rows.rows) {
      for (const value of Object.values(row)) {
        if (value instanceof Uint8Array) {
          const bytes = Buffer.from(value);
          parts.push(bytes.toString('hex'), bytes.toString('base64'), bytes.toString('latin1'));
        } else parts.push(JSON.stringify(value) ?? '');
      }
    }
  }
  return parts.join('\n');
}
