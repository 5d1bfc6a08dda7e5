/** Runs the shipping consumer until SIGINT/SIGTERM. Settings: README "Configuration". */
import { resolveConfig } from '@dual-write/config';
import { startTelemetryOrExit } from '@dual-write/telemetry';

// Telemetry first (README "Tracing"): the consumer's modules (pg) are imported after it, so its instrumentations patch them.
const telemetry = await startTelemetryOrExit({ serviceName: 'shipping' });
const { runConsumerProcess } = await import('@dual-write/downstream');
const { startShipping } = await import('./start-shipping.ts');

const HELP = `Usage: npm run shipping   (or: pnpm --filter @dual-write/shipping start)

Ships every order: consumes OrderCreated from ORDERS_TOPIC as consumer group "shipping" (through the
Kafka proxy), calls back GET <order service>/api/v1/orders/:id, and writes one row per message to the
shipments table — 'shipped' when the order exists (200), 'ghost' when it does not (404: a zombie message).
Any other answer is retried with backoff; the offset is committed only after the row is written.
Needs the stack (npm run stack -- up), a migrated database and the order service (npm start).
Ctrl-C stops it gracefully. Tracing: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_FILE (README "Tracing").`;

await runConsumerProcess({
  help: HELP,
  start: async () => {
    const consumer = await startShipping({ config: resolveConfig() });
    return { ...consumer, stop: () => consumer.stop().finally(() => telemetry.shutdown()) };
  },
});
