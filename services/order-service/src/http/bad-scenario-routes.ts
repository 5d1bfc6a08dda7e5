/**
 * GET /api/v1/bad-scenario?kind=db|mq|pool — the brief's URLs. Each runs a real fault and returns what the
 * database, Kafka (through an independent audit) and the downstream services show afterwards.
 * `strategy=outbox` runs the same fault against the outbox flow. Refused (403) unless FAULT_INJECTION=true.
 */
import type { FastifyInstance } from 'fastify';
import { DwError } from '@dual-write/config';
import { BLACK_HOLE_CAUSES, runBlackHole, type BlackHoleCause } from '../scenarios/black-hole.ts';
import { POOL_DEFAULTS, runPoolExhaustion } from '../scenarios/pool-exhaustion.ts';
import { runZombieMessage } from '../scenarios/zombie-message.ts';
import type { ScenarioDeps } from '../scenarios/scenario-deps.ts';

export const SCENARIO_KINDS = ['db', 'mq', 'pool'] as const;

export const SCENARIO_STRATEGIES = ['naive', 'outbox'] as const;

interface Query {
  kind?: string;
  strategy?: (typeof SCENARIO_STRATEGIES)[number];
  cause?: BlackHoleCause;
  latencyMs?: number;
  burst?: number;
}

export function registerBadScenarioRoutes(app: FastifyInstance, enabled: boolean, deps: () => ScenarioDeps): void {
  // One scenario at a time: they share the proxies.
  let running: Promise<unknown> = Promise.resolve();
  app.get<{ Querystring: Query }>(
    '/api/v1/bad-scenario',
    {
      schema: {
        summary: 'Reproduce a dual-write failure with a real fault (needs FAULT_INJECTION=true)',
        description: 'kind=db: zombie message. kind=mq: message black hole (cause=broker|crash). kind=pool: pool exhaustion (latencyMs, burst). strategy=naive (default) shows the damage; strategy=outbox runs the same fault against the outbox flow.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { type: 'string' },
            strategy: { type: 'string', enum: [...SCENARIO_STRATEGIES], default: 'naive' },
            cause: { type: 'string', enum: [...BLACK_HOLE_CAUSES] },
            latencyMs: { type: 'integer', minimum: 0, maximum: 120_000 },
            burst: { type: 'integer', minimum: 1, maximum: 500 },
          },
        },
      },
    },
    async (request, reply) => {
      if (!enabled) {
        throw new DwError('DW_FAULT_INJECTION_DISABLED', 'Fault injection is off: this endpoint would inject real faults into the database and Kafka connections.', 'Start the service with FAULT_INJECTION=true (`npm start` does), only on a lab machine.');
      }
      const { kind } = request.query;
      if (!kind || !(SCENARIO_KINDS as readonly string[]).includes(kind)) {
        throw new DwError('DW_VALIDATION', `querystring.kind must be one of ${SCENARIO_KINDS.join(', ')}${kind ? ` (got "${kind}")` : ''}.`, 'db = zombie message, mq = message black hole (cause=broker|crash), pool = connection pool exhaustion.');
      }
      const run = async () => {
        const d = deps();
        const outbox = request.query.strategy === 'outbox';
        if (kind === 'db') return runZombieMessage(d, outbox ? 'outbox' : 'naive');
        if (kind === 'mq') return runBlackHole(d, request.query.cause ?? 'broker', outbox ? 'outbox' : 'naive-after-commit');
        return runPoolExhaustion(d, {
          latencyMs: request.query.latencyMs ?? POOL_DEFAULTS.latencyMs,
          burst: request.query.burst ?? POOL_DEFAULTS.burst,
          strategy: outbox ? 'outbox' : 'naive',
        });
      };
      const result = running.then(run, run);
      running = result.catch(() => undefined);
      return reply.send(await result);
    },
  );
}
