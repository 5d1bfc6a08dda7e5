/** Fails fast, with a hint, when the consumer's database does not answer or is not migrated. */
import type pg from 'pg';
import { DwError } from '@dual-write/config';
import { redactUrl } from './options.ts';

export async function checkDatabase(pool: pg.Pool, databaseUrl: string, requiredTables: string[]): Promise<void> {
  let missing: string[];
  try {
    const { rows } = await pool.query<{ name: string; found: string | null }>(
      'select name, to_regclass(name)::text as found from unnest($1::text[]) as name',
      [requiredTables],
    );
    missing = rows.filter((r) => r.found === null).map((r) => r.name);
  } catch (err) {
    throw new DwError('DW_STACK_NOT_RUNNING', `The database at ${redactUrl(databaseUrl)} does not answer: ${(err as Error).message}.`, 'Start the stack (npm run stack -- up), or fix DATABASE_URL / VIA_PROXY.', undefined, { cause: err });
  }
  if (missing.length) {
    throw new DwError('DW_CONFIG_INVALID', `The database at ${redactUrl(databaseUrl)} has no table ${missing.join(', ')}: it is not migrated.`, 'Migrate it first (npm start does; or: npm run migrate), or point DATABASE_URL at the lab database.');
  }
}
