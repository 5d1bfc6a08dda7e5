/**
 * The lab's dashboard: @dual-write/dashboard mounted at /dashboard on the order service, on the lab's database
 * (direct), topic and relay, plus one panel per failure scenario whose buttons run
 * GET /api/v1/bad-scenario?kind=…&strategy=naive|outbox on this same service and show its report. The product
 * package knows nothing of the lab: the scenarios come in through its `panels` option.
 */
import type { LabConfig } from '@dual-write/config';
import { fastifyDashboard, type DashboardPanel } from '@dual-write/dashboard';
import type { AppPlugin } from '@dual-write/order-service';

export const DASHBOARD_PATH = '/dashboard';

const SCENARIOS = [
  { kind: 'db', title: 'Zombie message (kind=db)', description: 'The database connection is reset between Kafka\'s ack and the COMMIT.' },
  { kind: 'mq', title: 'Message black hole (kind=mq)', description: 'Kafka is cut after the COMMIT: nothing retries the send.' },
  { kind: 'pool', title: 'Pool exhaustion (kind=pool)', description: 'Kafka is slow while requests hold database connections.' },
  { kind: 'early', title: 'The message outruns its commit (kind=early)', description: 'The consumers look before the COMMIT.' },
] as const;

/** One panel per scenario, a button per strategy, each calling the order service's own endpoint. */
export function scenarioPanels(serviceUrl: () => string): DashboardPanel[] {
  return SCENARIOS.map((s) => ({
    id: `scenario-${s.kind}`,
    title: s.title,
    description: `${s.description} Naive shows the damage; outbox runs the same fault against the outbox flow.`,
    actions: (['naive', 'outbox'] as const).map((strategy) => ({
      id: strategy,
      label: `Run ${strategy}`,
      async run() {
        const res = await fetch(`${serviceUrl()}/api/v1/bad-scenario?kind=${s.kind}&strategy=${strategy}`, { signal: AbortSignal.timeout(180_000) });
        const body = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new Error(`${res.status}: ${String(body.message ?? JSON.stringify(body))}${body.hint ? ` — ${String(body.hint)}` : ''}`);
        return { summary: body.summary, findings: body.findings, report: body };
      },
    })),
  }));
}

export function labDashboard(opts: { config: LabConfig; relays: () => readonly string[] }): AppPlugin {
  return async (fastify, app) => {
    await fastify.register(fastifyDashboard, {
      prefix: DASHBOARD_PATH,
      title: 'dual-write-lab outbox',
      database: app.directDatabaseUrl,
      topic: app.topic, // the lab's relay sends every aggregate type to ORDERS_TOPIC
      relays: opts.relays,
      identify: () => 'lab',
      audit: { table: 'orders', topic: app.topic, brokers: opts.config.kafka.brokers, entityId: 'key', eventId: 'header:id' },
      panels: scenarioPanels(() => app.url()),
    });
  };
}
