/** `npm run relay`: the relay with the lab's settings (lab-relay-options.ts); `--help` lists them. */
import { isDwError, resolveConfig } from '@dual-write/config';
import { startTelemetryOrExit } from '@dual-write/telemetry';

// Telemetry first (README "Tracing"): the relay's modules are imported after it. The relay makes its `publish` spans
// through @opentelemetry/api; with no exporter configured they are no-ops.
const telemetry = await startTelemetryOrExit({ serviceName: 'outbox-relay' });
const { RELAY_CLI_HELP, runRelayCli } = await import('@dual-write/relay');
const { labRelayOptions } = await import('./lab-relay-options.ts');

const HELP = `Usage: npm run relay [-- --help]

The outbox relay (@dual-write/relay, bin outbox-relay) with the lab's settings:
  DATABASE_URL, KAFKA_BROKERS   reached through the postgres and kafka proxies unless VIA_PROXY=false
  ORDERS_TOPIC                  the topic every aggregate type is published to (default orders)
  RELAY_*                       as below; README "Configuration" lists the lab's defaults
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_FILE   where its spans go (README "Tracing")

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
// The CLI exits once the relay has stopped: start exporting the buffered spans (OTLP) as it stops.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void telemetry.forceFlush().catch(() => {}));
