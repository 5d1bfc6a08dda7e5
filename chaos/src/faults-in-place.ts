/**
 * Puts one fault in place with its undo step registered *before* it goes in (and recorded in the ledger),
 * so the normal end, an error, a signal and — through the ledger — a crash all find it.
 */
import type { LabConfig } from '@dual-write/config';
import type { Cleanup, ToxicHelper } from '@dual-write/faults';
import { DwError } from '@dual-write/config';
import { partitionStates, startService, stopKafkaNode, stopService } from '@dual-write/stack';
import { findRelayProcesses, killHard, relayOfStack, respawn } from './processes.ts';
import { toxicName, type ChaosLedger } from './ledger.ts';
import type { Say } from './log.ts';
import { describeFault, type Fault } from './toggles.ts';

export interface FaultContext {
  config: LabConfig;
  faults: ToxicHelper;
  ledger: ChaosLedger;
  cleanup: Cleanup;
  say: Say;
  /** Names the toxics: chaos_<script>_<pid>_<n> (a schedule passes each step's toggle instead). */
  script: string;
  /** Numbers this process's toxics. */
  next: () => number;
}

/** Resolves to a function that undoes the fault now (once); the cleanup runs it otherwise. */
export async function putInPlace(ctx: FaultContext, fault: Fault, script: string = ctx.script): Promise<() => Promise<void>> {
  const { faults, ledger, cleanup, say } = ctx;
  const what = describeFault(fault);
  if (cleanup.started) {
    say(`not adding ${what}: the run is stopping`);
    return async () => {};
  }
  if (fault.kind === 'stop') return stopInPlace(ctx, fault.service, fault.signal);
  if (fault.kind === 'kill-relays') return killRelaysInPlace(ctx);
  if (fault.kind === 'kill-leader') return killLeaderInPlace(ctx, fault.partition);
  if (fault.kind === 'toxic') {
    const name = toxicName(script, ctx.next());
    let adding: Promise<unknown> = Promise.resolve();
    const undo = cleanup.defer(`remove ${name} from the ${fault.proxy} proxy`, async () => {
      await adding.catch(() => {}); // a signal during the add: let it land, then remove it
      const removed = await faults.removeByName(fault.proxy, name);
      ledger.forgetToxic(name);
      say(removed ? `removed: ${what} — ${name}` : `removed: nothing, ${name} was already gone from the ${fault.proxy} proxy (a reset or \`clear\`)`);
    });
    ledger.addToxic(fault.proxy, name);
    adding = faults.add(fault.proxy, { name, type: fault.type, stream: fault.stream, attributes: fault.attributes });
    await adding;
    say(`added: ${what} — ${name}`);
    return undo;
  }
  if (!(await faults.proxy(fault.proxy)).enabled) {
    say(`the ${fault.proxy} proxy is already disabled, not by this run: leaving it as it is (clear re-enables it)`);
    return async () => {};
  }
  let disabling: Promise<unknown> = Promise.resolve();
  const undo = cleanup.defer(`re-enable the ${fault.proxy} proxy`, async () => {
    await disabling.catch(() => {});
    await faults.setEnabled(fault.proxy, true);
    ledger.forgetDisabled(fault.proxy);
    say(`removed: ${what} — it is enabled again`);
  });
  ledger.addDisabled(fault.proxy);
  disabling = faults.setEnabled(fault.proxy, false);
  await disabling;
  say(`added: ${what} (open connections closed, new ones refused)`);
  return undo;
}

/** Stops a stack service; the undo starts it again and waits until it answers. */
async function stopInPlace(ctx: FaultContext, service: 'kafka' | 'postgres', signal: NodeJS.Signals): Promise<() => Promise<void>> {
  const { config, ledger, cleanup, say } = ctx;
  let stopping: Promise<unknown> = Promise.resolve();
  const undo = cleanup.defer(`start ${service} again`, async () => {
    await stopping.catch(() => {});
    const t0 = Date.now();
    await startService(service, { config, progress: (l) => say(l) });
    ledger.forgetStopped(service);
    say(`removed: ${service} stopped — it answers again (${((Date.now() - t0) / 1000).toFixed(1)} s to start)`);
  });
  ledger.addStopped(service);
  stopping = stopService(service, { config, signal, progress: (l) => say(l) });
  await stopping;
  say(`added: ${service} stopped (${signal})`);
  return undo;
}

/**
 * KAFKA_NODES=3: finds the leader of `partition` of the orders topic in fresh metadata, kill -9s that node; the undo
 * starts it again (startService starts whichever cluster node is not running) and waits until the cluster lists
 * all three brokers again.
 */
async function killLeaderInPlace(ctx: FaultContext, partition: number): Promise<() => Promise<void>> {
  const { config, ledger, cleanup, say } = ctx;
  if (config.kafka.nodeCount !== 3 || !config.kafka.managed) {
    throw new DwError('DW_CONFIG_INVALID', `kafka-leader-kill needs the stack's Kafka cluster (KAFKA_NODES=3, KAFKA_BROKERS unset); here KAFKA_NODES=${config.kafka.nodeCount}${config.kafka.managed ? '' : ' and KAFKA_BROKERS is set'}.`, 'Start it with `npm run stack -- up --kafka-nodes 3` and run the chaos script with KAFKA_NODES=3.');
  }
  const topic = config.topics.orders.name;
  const states = await partitionStates(config.kafka.brokers, topic);
  const state = states.find((s) => s.partition === partition);
  if (!state) throw new DwError('DW_CONFIG_INVALID', `The topic ${topic} has no partition ${partition} (it has ${states.length}).`, `Choose --partition from 0 to ${Math.max(0, states.length - 1)}.`);
  if (state.leader < 0) throw new DwError('DW_STACK_NOT_RUNNING', `Partition ${partition} of ${topic} has no leader right now (ISR ${state.isr.join(',') || 'empty'}).`, 'Wait until the cluster recovers (npm run stack -- status), then try again.');
  let stopping: Promise<unknown> = Promise.resolve();
  const undo = cleanup.defer(`start kafka-${state.leader} again`, async () => {
    await stopping.catch(() => {});
    const t0 = Date.now();
    await startService('kafka', { config, progress: (l) => say(l) });
    ledger.forgetStopped('kafka');
    say(`removed: kafka-${state.leader} killed — started again, the cluster lists every broker (${((Date.now() - t0) / 1000).toFixed(1)} s to start)`);
  });
  ledger.markCluster();
  ledger.addStopped('kafka');
  stopping = stopKafkaNode(state.leader, { config, signal: 'SIGKILL', progress: (l) => say(l) });
  await stopping;
  say(`added: the leader of ${topic} partition ${partition}, node ${state.leader} (ISR ${state.isr.join(',')}), killed with SIGKILL`);
  return undo;
}

/**
 * kill -9 of every relay process of this stack (relayOfStack: its DATABASE_URL names the stack's PostgreSQL);
 * relays of another stack on the machine are left alone. The undo starts each again with its command line,
 * folder and environment.
 */
async function killRelaysInPlace(ctx: FaultContext): Promise<() => Promise<void>> {
  const { config, ledger, cleanup, say } = ctx;
  const all = findRelayProcesses();
  const found = all.filter((f) => relayOfStack(config, f.spec.env));
  const others = all.filter((f) => !found.includes(f));
  if (others.length) {
    say(`relay-kill: leaving ${others.length} relay process(es) of another stack alone (pid ${others.map((f) => f.pid).join(', ')}: their DATABASE_URL is not this stack's PostgreSQL at ${config.database.upstream.host}:${config.database.upstream.port})`);
  }
  if (found.length === 0) {
    say('relay-kill: no relay process of this stack is running (a relay inside `npm start` is not a process of its own): nothing to kill');
    return async () => {};
  }
  const specs = found.filter((f) => !f.childOfRelay).map((f) => f.spec);
  const undo = cleanup.defer('start the killed relays again', async () => {
    for (const spec of specs) {
      const { pid, logFile } = respawn(config, spec);
      ledger.forgetRelay(spec);
      say(`removed: relay killed — started again (pid ${pid}, output in ${logFile})`);
    }
  });
  ledger.addRelays(specs);
  await killHard(found.map((f) => f.pid));
  say(`added: ${found.length} relay process(es) killed with SIGKILL (pid ${found.map((f) => f.pid).join(', ')})`);
  return undo;
}
