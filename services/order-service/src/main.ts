/**
 * Starts the order service on HOST:PORT (default 127.0.0.1:3000). SIGINT/SIGTERM close it gracefully.
 * It is the lab's service: it mounts the lab's GET /api/v1/bad-scenario (src/lab/), which refuses with 403 unless
 * FAULT_INJECTION=true, and only then loads the scenario code.
 */
import { resolveConfig } from '@dual-write/config';
import { startTelemetry } from '@dual-write/telemetry';
import { closeOnSignals, runMain } from './process-lifecycle.ts';

const HELP = `Usage: npm run order-service   (npm start runs it together with the stack and the consumers)

Starts the order service on HOST:PORT (default 127.0.0.1:3000), applying the schema migrations first.
Settings (README "Configuration"): DATABASE_URL, KAFKA_BROKERS, VIA_PROXY, ORDER_WRITE_STRATEGY,
DB_POOL_MAX, DB_POOL_ACQUIRE_TIMEOUT_MS, FAULT_INJECTION, PORT, HOST.
Tracing (README "Tracing"): OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_TRACES_FILE.`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const config = resolveConfig();
  // Telemetry first: the app's modules (fastify → node:http, pg) are imported after it, so its instrumentations patch them.
  const telemetry = await startTelemetry({ serviceName: 'order-service' });
  const { buildApp } = await import('./app.ts');
  const { faultScenarios } = await import('./lab/index.ts');
  const app = await buildApp({ config, logger: true, plugins: [faultScenarios()] });
  await app.fastify.listen({ host: config.orderService.host, port: config.orderService.port });
  console.log(`order service listening on ${config.orderService.url} — try: curl ${config.orderService.url}/health`);
  closeOnSignals(() => app.close().finally(() => telemetry.shutdown()));
}

runMain(main);
