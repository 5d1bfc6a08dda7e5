/** Runs the billing consumer until SIGINT/SIGTERM. Settings: README "Configuration". */
import { resolveConfig } from '@dual-write/config';
import { runConsumerProcess } from '@dual-write/downstream';
import { startBilling } from './start-billing.ts';

const HELP = `Usage: npm run billing   (or: pnpm --filter @dual-write/billing start)

Invoices every order: consumes OrderCreated from ORDERS_TOPIC as consumer group "billing" (through the
Kafka proxy), calls back GET <order service>/api/v1/orders/:id, and writes one row per message to the
invoices table — 'invoiced' for the order's totalCents when it exists (200), 'ghost' when it does not
(404: a zombie message). Any other answer is retried with backoff; the offset is committed only after the
row is written. Needs the stack (npm run stack -- up), a migrated database and the order service (npm start).
Ctrl-C stops it gracefully.`;

await runConsumerProcess({ help: HELP, start: () => startBilling({ config: resolveConfig() }) });
