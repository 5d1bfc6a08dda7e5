/**
 * The scenarios behind GET /api/v1/bad-scenario, bound to one app: their dependencies (Toxiproxy, the evidence
 * read from the sources of truth) and one run at a time, since they share the proxies. The plugin
 * (../fault-scenarios.ts) loads this module only when fault injection is on.
 */
import type { Server } from 'node:http';
import { ToxicHelper } from '@dual-write/faults';
import type { AppPluginContext } from '../../app.ts';
import { runBlackHole } from './black-hole.ts';
import { watchOrderCallbacks } from './callback-watch.ts';
import { Evidence } from './evidence.ts';
import { EARLY_DEFAULTS, POOL_DEFAULTS, type ScenarioQuery } from './kinds.ts';
import { runPoolExhaustion } from './pool-exhaustion.ts';
import { runPrematureMessage } from './premature-message.ts';
import type { ScenarioReport } from './report.ts';
import type { HostageReports, ScenarioDeps } from './scenario-deps.ts';
import { runZombieMessage } from './zombie-message.ts';

export interface ScenarioRunner {
  /** Runs one scenario once the one before it (if any) has finished. */
  run(query: ScenarioQuery): Promise<ScenarioReport>;
  close(): Promise<void>;
}

/** `server`: the service's HTTP server, where kind=early watches the consumers' callbacks arrive. */
export function scenarioRunner(app: AppPluginContext, effectTimeoutMs: number, server: Server, hostage?: HostageReports): ScenarioRunner {
  const { config } = app.context;
  const faults = new ToxicHelper(config.toxiproxy.url);
  const callbacks = watchOrderCallbacks(server);
  let evidence: Evidence | undefined;
  const deps = (): ScenarioDeps => ({
    config,
    service: app.context,
    faults,
    evidence: (evidence ??= new Evidence(config, app.directDatabaseUrl, app.topic)),
    callbacks,
    hostage,
    appDatabaseUrl: app.databaseUrl,
    topic: app.topic,
    baseUrl: app.url,
    effectTimeoutMs,
    toxicsLeft: async () => ({ postgres: await faults.list('postgres'), kafka: await faults.list('kafka') }),
  });

  const runOne = async (query: ScenarioQuery): Promise<ScenarioReport> => {
    const d = deps();
    const outbox = query.strategy === 'outbox';
    if (query.kind === 'db') return runZombieMessage(d, outbox ? 'outbox' : 'naive');
    if (query.kind === 'mq') return runBlackHole(d, query.cause ?? 'broker', outbox ? 'outbox' : 'naive-after-commit');
    if (query.kind === 'early') return runPrematureMessage(d, outbox ? 'outbox' : 'naive', query.holdMs ?? EARLY_DEFAULTS.holdMs);
    return runPoolExhaustion(d, {
      latencyMs: query.latencyMs ?? POOL_DEFAULTS.latencyMs,
      burst: query.burst ?? POOL_DEFAULTS.burst,
      strategy: outbox ? 'outbox' : 'naive',
    });
  };

  let running: Promise<unknown> = Promise.resolve();
  return {
    run(query) {
      const run = () => runOne(query);
      const result = running.then(run, run);
      running = result.catch(() => undefined);
      return result;
    },
    async close() {
      callbacks.close();
      await evidence?.close();
    },
  };
}
