/**
 * Starts the order service on HOST:PORT (default 127.0.0.1:3000). SIGINT/SIGTERM close it gracefully.
 * It is the lab's service: it mounts the lab's GET /api/v1/bad-scenario (src/lab/), which refuses with 403 unless
 * FAULT_INJECTION=true, and only then loads the scenario code.
 */
import { resolveConfig } from '@dual-write/config';
import { buildApp } from './app.ts';
import { faultScenarios } from './lab/index.ts';
import { closeOnSignals, runMain } from './process-lifecycle.ts';

const HELP = `Usage: npm run order-service   (npm start runs it together with the stack and the consumers)

Starts the order service on HOST:PORT (default 127.0.0.1:3000), applying the schema migrations first.
Settings (README "Configuration"): DATABASE_URL, KAFKA_BROKERS, VIA_PROXY, ORDER_WRITE_STRATEGY,
DB_POOL_MAX, DB_POOL_ACQUIRE_TIMEOUT_MS, FAULT_INJECTION, PORT, HOST.`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const config = resolveConfig();
  const app = await buildApp({ config, logger: true, plugins: [faultScenarios()] });
  await app.fastify.listen({ host: config.orderService.host, port: config.orderService.port });
  console.log(`order service listening on ${config.orderService.url} — try: curl ${config.orderService.url}/health`);
  closeOnSignals(() => app.close());
}

runMain(main);
