#!/usr/bin/env tsx
/** `migrate` — applies the numbered migrations to DATABASE_URL (or --url) and seeds the demo data. */
import pg from 'pg';
import { isDwError, resolveConfig } from '@dual-write/config';
import { migrateLab } from './migrate.ts';
import { seedDemoData } from './seed.ts';

const HELP = `Usage: npm run migrate -- [--url postgres://…] [--no-seed]

Applies packages/schema/migrations/*.sql and the outbox library's migrations in order (each once; safe to
run from several processes at once) to DATABASE_URL, then inserts the demo products and user unless --no-seed.`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const i = argv.indexOf('--url');
  const url = i >= 0 ? argv[i + 1] : resolveConfig().database.url;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await migrateLab(client, { log: (l) => console.log(l) });
    if (!argv.includes('--no-seed')) await seedDemoData(client);
    console.log(`schema up to date (${r.applied.length} applied now, ${r.alreadyApplied} before)`);
  } finally {
    await client.end();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(isDwError(err) ? err.format() : err);
  process.exit(1);
});
