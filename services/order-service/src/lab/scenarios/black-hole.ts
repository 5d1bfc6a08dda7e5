/**
 * kind=mq — the message black hole. INSERT + COMMIT succeed, then the publish never completes:
 *  cause=broker  Toxiproxy disables the `kafka` proxy right after COMMIT; the naive send fails and nothing retries it.
 *  cause=crash   the write runs in a child process that is SIGKILLed right after COMMIT.
 * With strategy=outbox the same faults hit, but the event is committed in the outbox with the order: it waits
 * there while Kafka is cut (or after the writer died) and the relay delivers it. The audit then reads every
 * partition up to its high watermark to see whether the order has its message.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { WriteStrategy } from '@dual-write/config';
import { newOrderCreated } from '../../orders/order-input.ts';
import { writeOrder } from '../../orders/write-order.ts';
import { auditFor } from './evidence.ts';
import type { BlackHoleCause } from './kinds.ts';
import { SAMPLE_ORDER, type ScenarioDeps } from './scenario-deps.ts';
import type { ScenarioReport } from './report.ts';

type MqStrategy = Extract<WriteStrategy, 'naive-after-commit' | 'outbox'>;

const CRASH_WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const SERVICE_DIR = path.resolve(path.dirname(CRASH_WRITER), '..', '..', '..');
/** How long Kafka stays cut in the broker variant (the outbox row must wait it out). */
const OUTAGE_MS = 2000;

interface Written {
  orderId: string;
  eventId: string;
  clientSaw: string;
  /** outbox: rows of this event still in the outbox while the fault was on. */
  waitingInOutbox?: number;
}

async function brokerCut(deps: ScenarioDeps, strategy: MqStrategy, steps: string[]): Promise<Written> {
  const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: `scenario-mq-broker-${strategy}` }, strategy);
  let waitingInOutbox: number | undefined;
  const cutKafka = async () => {
    await deps.faults.setEnabled('kafka', false);
    steps.push('Toxiproxy: the kafka proxy is disabled — the broker is unreachable');
  };
  try {
    // naive-after-commit: the broker goes away between COMMIT and the send. outbox: it goes away just before
    // COMMIT, so the relay (woken by the commit) finds Kafka already unreachable.
    const outcome = await writeOrder(deps.service, event, strategy, {
      beforeCommit: strategy === 'outbox' ? cutKafka : undefined,
      afterCommit: async () => {
        steps.push(`order ${event.orderId} committed${strategy === 'outbox' ? ' together with its outbox row' : ''}`);
        if (strategy !== 'outbox') await cutKafka();
      },
    });
    if (strategy === 'outbox') {
      steps.push('the client was answered 201 Created without touching Kafka');
      await new Promise((r) => setTimeout(r, OUTAGE_MS)); // the outage the relay has to ride out
      waitingInOutbox = await deps.evidence.outboxRows([event.eventId]);
      steps.push(`after ${OUTAGE_MS} ms of outage: ${waitingInOutbox} outbox row(s) of this order still waiting for the relay`);
    } else {
      steps.push(outcome.publishError ? `send failed: ${outcome.publishError.message}; the naive code has no retry path after COMMIT` : 'send succeeded (unexpected: the fault did not hit)');
      steps.push('the client was answered 201 Created — "purchase successful"');
    }
  } finally {
    await deps.faults.cleanup();
    steps.push(strategy === 'outbox' ? 'Toxiproxy: kafka proxy enabled again' : 'Toxiproxy: kafka proxy enabled again — too late, nothing remembers the event');
  }
  return { orderId: event.orderId, eventId: event.eventId, clientSaw: '201 Created', waitingInOutbox };
}

/** Runs the write in a child process and SIGKILLs it once it reports the COMMIT. */
function crashAfterCommit(deps: ScenarioDeps, strategy: MqStrategy, steps: string[]): Promise<Written> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER], {
      cwd: SERVICE_DIR,
      env: { ...process.env, CRASH_WRITER_DATABASE_URL: deps.appDatabaseUrl, CRASH_WRITER_TOPIC: deps.topic, CRASH_WRITER_STRATEGY: strategy },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let written: { orderId: string; eventId: string } | undefined;
    child.on('message', (msg: { committed?: string; eventId?: string }) => {
      if (msg.committed && msg.eventId) {
        written = { orderId: msg.committed, eventId: msg.eventId };
        steps.push(`child process ${child.pid}: order ${msg.committed} committed${strategy === 'outbox' ? ' with its outbox row' : '; about to send OrderCreated'}`);
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!written) return reject(new Error(`crash writer exited (code ${code}, signal ${signal}) before committing`));
      steps.push(
        strategy === 'outbox'
          ? `child process killed by ${signal} right after COMMIT — the event is safe in the outbox`
          : `child process killed by ${signal} between COMMIT and send — the event existed only in its memory`,
      );
      resolve({ ...written, clientSaw: `connection lost (process killed by ${signal})` });
    });
  });
}

export async function runBlackHole(deps: ScenarioDeps, cause: BlackHoleCause, strategy: MqStrategy = 'naive-after-commit'): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const written = cause === 'broker' ? await brokerCut(deps, strategy, steps) : await crashAfterCommit(deps, strategy, steps);
  const { orderId } = written;
  let drainMs: number | null = null;
  if (strategy === 'outbox') {
    const drained = await deps.evidence.waitForOutboxDrained([written.eventId], deps.effectTimeoutMs);
    drainMs = drained.drained ? drained.ms : null;
    steps.push(drained.drained ? `the relay published the outbox row ${drained.ms} ms later` : `the outbox row was still waiting after ${drained.ms} ms (is the relay running?)`);
  }
  const orderInDb = await deps.evidence.orderExists(orderId);
  steps.push(`order row in the database: ${orderInDb ? 'yes' : 'no'}`);
  const audit = auditFor(await deps.evidence.audit(0), [orderId]);
  const messageInKafka = !audit.blackHoles.includes(orderId);
  steps.push(`audit read every partition up to its high watermark: message for the order ${messageInKafka ? 'found' : 'not found'}`);
  const effects = messageInKafka ? await deps.evidence.waitForEffects(orderId, deps.effectTimeoutMs) : await deps.evidence.effects(orderId);
  if (messageInKafka) steps.push(`downstream: ${effects.shipments.length} shipment(s), ${effects.invoices.length} invoice(s)`);
  const damage = orderInDb && !messageInKafka;
  const how = cause === 'broker' ? 'the broker was cut after COMMIT' : 'the process crashed right after COMMIT';
  return {
    scenario: 'mq',
    variant: cause,
    strategy,
    title: strategy === 'outbox' ? `Outbox strategy: ${how}, the event waited in the outbox and was delivered` : `Message black hole: ${how}`,
    steps,
    findings: {
      orderId,
      eventId: written.eventId,
      clientSaw: written.clientSaw,
      orderInDb,
      messageInKafka,
      waitingInOutbox: written.waitingInOutbox ?? null,
      deliveredAfterMs: drainMs,
      downstreamEffects: effects.shipments.length + effects.invoices.length,
      effects: { shipments: effects.shipments, invoices: effects.invoices },
    },
    audit,
    damage,
    summary: damage
      ? `black hole: order ${orderId} is committed, no OrderCreated exists, downstream will never hear of it`
      : `consistent: order ${orderId} committed and its OrderCreated delivered${drainMs !== null ? ` (${drainMs} ms after the fault)` : ''}`,
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}
