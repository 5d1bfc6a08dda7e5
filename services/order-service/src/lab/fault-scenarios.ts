/**
 * LAB-ONLY. GET /api/v1/bad-scenario?kind=db|mq|pool|early — the brief's URLs, as a plugin of the order service's app
 * (buildApp({ plugins: [faultScenarios()] })). Each runs a real fault and returns what the database, Kafka
 * (through an independent audit) and the downstream services show afterwards. `strategy=outbox` runs the same
 * fault against the outbox flow. Refused (403) unless fault injection is on (FAULT_INJECTION=true, which
 * `npm start` sets); the scenario code (./scenarios/) is only loaded when it is.
 *
 * Mounted by the entries that assemble the lab — src/main.ts (`npm run order-service`) and services/lab
 * (`npm start`, test-scenario, the soak, the load tests) — never by the production app itself (src/app.ts).
 */
import { DwError } from '@dual-write/config';
import type { AppPlugin } from '../app.ts';
import { errorResponses } from '../http/error-schema.ts';
import { BLACK_HOLE_CAUSES, SCENARIO_KINDS, SCENARIO_STRATEGIES, type ScenarioQuery } from './scenarios/kinds.ts';
import type { HostageReports } from './scenarios/scenario-deps.ts';

export interface FaultScenariosOptions {
  /** How long a scenario waits for shipping/billing to act (default 20 s). */
  effectTimeoutMs?: number;
  /** A running hostage-connection detector (@dual-write/detector): kind=pool reports what it caught during the burst. */
  hostageDetector?: HostageReports;
}

type Query = Partial<Omit<ScenarioQuery, 'kind'>> & { kind?: string };

/** The plugin; whether it injects faults is the app's config.orderService.faultInjection (FAULT_INJECTION). */
export function faultScenarios(opts: FaultScenariosOptions = {}): AppPlugin {
  return async (fastify, app) => {
    const runner = app.context.config.orderService.faultInjection
      ? (await import('./scenarios/run-scenario.ts')).scenarioRunner(app, opts.effectTimeoutMs ?? 20_000, fastify.server, opts.hostageDetector)
      : undefined;
    if (runner) fastify.addHook('onClose', () => runner.close());

    fastify.get<{ Querystring: Query }>(
      '/api/v1/bad-scenario',
      {
        schema: {
          summary: 'Reproduce a dual-write failure with a real fault (needs FAULT_INJECTION=true)',
          description: 'kind=db: zombie message. kind=mq: message black hole (cause=broker|crash). kind=pool: pool exhaustion (latencyMs, burst). kind=early: the message outruns its commit (the consumers look before COMMIT; holdMs: how long the further work of the outbox variant lasts). strategy=naive (default) shows the damage; strategy=outbox runs the same fault against the outbox flow.',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              kind: { type: 'string' },
              strategy: { type: 'string', enum: [...SCENARIO_STRATEGIES], default: 'naive' },
              cause: { type: 'string', enum: [...BLACK_HOLE_CAUSES] },
              latencyMs: { type: 'integer', minimum: 0, maximum: 120_000 },
              burst: { type: 'integer', minimum: 1, maximum: 500 },
              holdMs: { type: 'integer', minimum: 0, maximum: 60_000 },
            },
          },
          response: {
            200: {
              description: 'The scenario report: the steps, what the database shows, what the audit of the Kafka topic found, and what the downstream services did.',
              type: 'object',
              additionalProperties: true,
              properties: { scenario: { type: 'string' }, strategy: { type: 'string' }, title: { type: 'string' }, steps: { type: 'array', items: { type: 'string' } } },
            },
            ...errorResponses(400, 403, 503),
          },
        },
      },
      async (request, reply) => {
        if (!runner) {
          throw new DwError('DW_FAULT_INJECTION_DISABLED', 'Fault injection is off: this endpoint would inject real faults into the database and Kafka connections.', 'Start the service with FAULT_INJECTION=true (`npm start` does), only on a lab machine.');
        }
        const { kind } = request.query;
        if (!kind || !(SCENARIO_KINDS as readonly string[]).includes(kind)) {
          throw new DwError('DW_VALIDATION', `querystring.kind must be one of ${SCENARIO_KINDS.join(', ')}${kind ? ` (got "${kind}")` : ''}.`, 'db = zombie message, mq = message black hole (cause=broker|crash), pool = connection pool exhaustion, early = the message outruns its commit.');
        }
        return reply.send(await runner.run({ ...request.query, kind: kind as ScenarioQuery['kind'] }));
      },
    );
  };
}
