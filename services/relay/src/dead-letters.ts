/** `npm run dead-letters -- …`: the relay's dead-letter commands on the lab's database (direct, not through the proxy). */
import { isDwError, resolveConfig } from '@dual-write/config';
import { DEAD_LETTERS_CLI_HELP, runDeadLettersCli } from '@dual-write/relay';

const help = DEAD_LETTERS_CLI_HELP.replace('Usage: outbox-dead-letters', 'Usage: npm run dead-letters --').replace('default: DATABASE_URL', "default: the lab's DATABASE_URL (direct, not through the proxy)");
let databaseUrl: string | undefined;
try {
  databaseUrl = process.argv.some((a) => a === '--help' || a === '-h') ? undefined : resolveConfig().database.url;
} catch (err) {
  console.error(isDwError(err) ? err.format() : (err as Error).message);
  process.exit(2);
}
await runDeadLettersCli({ databaseUrl, help });
