/** `npm run relay`: the relay with the lab's settings (lab-relay-options.ts); `--help` lists them. */
import { isDwError, resolveConfig } from '@dual-write/config';
import { RELAY_CLI_HELP, runRelayCli } from '@dual-write/relay';
import { labRelayOptions } from './lab-relay-options.ts';

const HELP = `Usage: npm run relay [-- --help]

The outbox relay (@dual-write/relay, bin outbox-relay) with the lab's settings:
  DATABASE_URL, KAFKA_BROKERS   reached through the postgres and kafka proxies unless VIA_PROXY=false
  ORDERS_TOPIC                  the topic every aggregate type is published to (default orders)
  RELAY_*                       as below; README "Configuration" lists the lab's defaults

The relay itself:
${RELAY_CLI_HELP.split('\n').slice(1).join('\n')}`;

let options;
try {
  options = process.argv.includes('--help') || process.argv.includes('-h') ? {} : labRelayOptions(resolveConfig());
} catch (err) {
  console.error(isDwError(err) ? err.format() : (err as Error).message);
  process.exit(2);
}
await runRelayCli({ options, help: HELP });
