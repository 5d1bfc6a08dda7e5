/** `npm start`: the order service with fault injection on, plus shipping and billing, until Ctrl-C. */
import { resolveConfig } from '@dual-write/config';
import { startTelemetryOrExit } from '@dual-write/telemetry';

// Telemetry first (README "Tracing"; all four pieces run in this one process: service.name dual-write-lab): the
// lab's modules are imported after it, so its instrumentations patch node:http and pg.
const telemetry = await startTelemetryOrExit({ serviceName: 'dual-write-lab' });
const { closeOnSignals, runMain } = await import('@dual-write/order-service');
const { startSystem } = await import('./system.ts');

const HELP = `Usage: npm start

Runs the lab (the stack is started first by npm start):
  order service   http://127.0.0.1:3000 (PORT), fault injection ON (the bad-scenario endpoints work)
  relay           publishes the outbox to Kafka; /metrics and /health on RELAY_PORT (9464)
  shipping        consumes OrderCreated, calls back GET /api/v1/orders/:id, records shipments
  billing         the same, records invoices
Ctrl-C stops them; \`npm run stack -- down\` stops Kafka, PostgreSQL and Toxiproxy.`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const config = resolveConfig({ FAULT_INJECTION: process.env.FAULT_INJECTION ?? 'true' });
  const system = await startSystem({ config, log: (l) => console.log(l) });
  const u = system.url.replace('127.0.0.1', 'localhost');
  console.log(`
dual-write-lab is running — order service on ${u} (fault injection ${config.orderService.faultInjection ? 'ON' : 'off'}),
relay (metrics ${system.relay?.url ? `${system.relay.url}/metrics` : "off"}), shipping and billing consumers

  dashboard: ${u}/dashboard/   (backlog, relays, dead letters, the auditor, every scenario naive vs outbox)

  curl -s ${u}/health
  curl -s -X POST ${u}/api/v1/orders -H 'content-type: application/json' \\
       -d '{"customerId":"alice","items":[{"sku":"BOOK-001","qty":1,"priceCents":4599}]}'
  curl -s '${u}/api/v1/bad-scenario?kind=db'           # zombie message
  curl -s '${u}/api/v1/bad-scenario?kind=mq'           # message black hole (cause=broker|crash)
  curl -s '${u}/api/v1/bad-scenario?kind=pool'         # connection pool exhaustion
  curl -s '${u}/api/v1/bad-scenario?kind=early'        # the message outruns its commit (premature)
  curl -s '${u}/api/v1/bad-scenario?kind=db&strategy=outbox'   # the same fault, outbox strategy
  npm run audit                                        # independent DB ↔ Kafka audit

Ctrl-C to stop.`);
  closeOnSignals(() => system.stop().finally(() => telemetry.shutdown()));
}

runMain(main);
