/**
 * kind=pool — connection pool exhaustion. Toxiproxy adds latency to the `kafka` proxy; a burst of order
 * requests (more than the pool holds) each keeps its transaction's connection while awaiting the send;
 * meanwhile login and product search — which never touch Kafka — fail with ConnectionAcquireTimeoutError.
 */
import { runPoolBurst } from '@dual-write/loadgen';
import { auditFor } from './evidence.ts';
import type { ScenarioDeps } from './scenario-deps.ts';
import type { ScenarioReport } from './report.ts';

export interface PoolScenarioOptions {
  latencyMs: number;
  burst: number;
  strategy: string;
}

export async function runPoolExhaustion(deps: ScenarioDeps, opts: PoolScenarioOptions): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const pool = deps.config.orderService;
  let result;
  try {
    await deps.faults.add('kafka', { type: 'latency', attributes: { latency: opts.latencyMs, jitter: 0 } });
    steps.push(`Toxiproxy: ${opts.latencyMs} ms latency on the kafka proxy`);
    steps.push(`burst: ${opts.burst} concurrent POST /api/v1/orders (strategy ${opts.strategy}) against a pool of ${pool.poolMax} connections (acquire timeout ${pool.poolAcquireTimeoutMs} ms), while login and product search are called in parallel`);
    // The unrelated endpoints are probed for at least the latency window, whatever the strategy.
    result = await runPoolBurst({ baseUrl: deps.baseUrl(), strategy: opts.strategy, burst: opts.burst, minDurationMs: opts.latencyMs });
  } finally {
    await deps.faults.cleanup();
  }
  steps.push(`orders: ${result.orders.ok} ok, ${result.orders.failed} failed ${JSON.stringify(result.orders.errors)}; p50 ${result.orders.p50Ms} ms, p99 ${result.orders.p99Ms} ms`);
  steps.push(`unrelated endpoints: ${result.unrelated.ok} ok, ${result.unrelated.failed} failed ${JSON.stringify(result.unrelated.errors)}; p50 ${result.unrelated.p50Ms} ms, p99 ${result.unrelated.p99Ms} ms`);
  steps.push('Toxiproxy: latency removed');
  const hostage = hostageFindings(deps, t0);
  if (hostage) {
    steps.push(
      hostage.reports
        ? `hostage-connection detector: ${hostage.reports} request(s) held a database transaction while awaiting Kafka, for ${hostage.minHeldMs}–${hostage.maxHeldMs} ms (at ${hostage.callSites.join(', ')})`
        : 'hostage-connection detector: no request held a database connection while awaiting Kafka',
    );
  }
  let drainMs: number | null = null;
  if (opts.strategy === 'outbox') {
    const drained = await deps.evidence.waitForOutboxDrained(result.eventIds, deps.effectTimeoutMs * 3);
    drainMs = drained.drained ? drained.ms : null;
    steps.push(drained.drained ? `outbox backlog of the burst drained ${drained.ms} ms after the latency was removed` : `outbox backlog still not drained after ${drained.ms} ms (is the relay running?)`);
  }
  const audit = auditFor(await deps.evidence.audit(0), result.orderIds);
  const damage = result.unrelated.failed > 0 || audit.ghosts.length > 0 || audit.blackHoles.length > 0;
  return {
    scenario: 'pool',
    strategy: opts.strategy,
    title: opts.strategy === 'outbox' ? 'Slow Kafka, outbox strategy: requests never wait on Kafka, the pool stays free' : 'Connection pool exhaustion: a slow Kafka takes login and product search down',
    steps,
    findings: {
      latencyMs: opts.latencyMs,
      burst: opts.burst,
      poolMax: pool.poolMax,
      acquireTimeoutMs: pool.poolAcquireTimeoutMs,
      orders: result.orders,
      unrelated: result.unrelated,
      login: result.login,
      products: result.products,
      burstDurationMs: result.durationMs,
      orderIds: result.orderIds,
      backlogDrainMs: drainMs,
      hostageConnections: hostage ?? null,
    },
    audit,
    damage,
    summary: damage
      ? `${result.unrelated.failed} of ${result.unrelated.total} unrelated calls failed (${Object.keys(result.unrelated.errors).join(', ')}) while orders waited on Kafka`
      : `${result.orders.ok}/${result.orders.total} orders and ${result.unrelated.ok}/${result.unrelated.total} unrelated calls succeeded during the latency${drainMs !== null ? `; the outbox backlog drained ${drainMs} ms after it was lifted` : ''}`,
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}

/**
 * What the detector reported for broker calls that began during this run (scenarios run one at a time; a send
 * left over from an earlier burst that settles now began before `since`).
 */
function hostageFindings(deps: ScenarioDeps, since: number) {
  if (!deps.hostage) return undefined;
  const reports = deps.hostage.reports().filter((r) => Date.parse(r.startedAt) >= since);
  const held = reports.map((r) => Math.round(r.heldMs));
  return {
    reports: reports.length,
    inTransaction: reports.filter((r) => r.inTransaction).length,
    minHeldMs: held.length ? Math.min(...held) : 0,
    maxHeldMs: held.length ? Math.max(...held) : 0,
    callSites: [...new Set(reports.map((r) => r.callSite ?? 'unknown'))],
  };
}
