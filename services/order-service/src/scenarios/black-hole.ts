/**
 * kind=mq — the message black hole. INSERT + COMMIT succeed, then the publish never completes:
 *  cause=broker  Toxiproxy disables the `kafka` proxy right after COMMIT; the send fails and nothing retries it.
 *  cause=crash   the write runs in a child process that is SIGKILLed between COMMIT and send.
 * The audit then reads every partition up to its high watermark: the order has no message.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { newOrderCreated } from '../orders/order-input.ts';
import { writeOrder } from '../orders/write-order.ts';
import { auditFor } from './evidence.ts';
import { SAMPLE_ORDER, type ScenarioDeps } from './scenario-deps.ts';
import type { ScenarioReport } from './report.ts';

export const BLACK_HOLE_CAUSES = ['broker', 'crash'] as const;
export type BlackHoleCause = (typeof BLACK_HOLE_CAUSES)[number];

const CRASH_WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const SERVICE_DIR = path.resolve(path.dirname(CRASH_WRITER), '..', '..');

async function brokerCut(deps: ScenarioDeps, steps: string[]): Promise<{ orderId: string; clientSaw: string }> {
  const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: 'scenario-mq-broker' }, 'naive-after-commit');
  try {
    const outcome = await writeOrder(deps.service, event, 'naive-after-commit', {
      afterCommit: async () => {
        steps.push(`order ${event.orderId} committed`);
        await deps.faults.setEnabled('kafka', false);
        steps.push('Toxiproxy: the kafka proxy is disabled — the broker is unreachable');
      },
    });
    steps.push(outcome.publishError ? `send failed: ${outcome.publishError.message}; the naive code has no retry path after COMMIT` : 'send succeeded (unexpected: the fault did not hit)');
    steps.push('the client was answered 201 Created — "purchase successful"');
  } finally {
    await deps.faults.cleanup();
    steps.push('Toxiproxy: kafka proxy enabled again — too late, nothing remembers the event');
  }
  return { orderId: event.orderId, clientSaw: '201 Created' };
}

/** Runs the write in a child process and SIGKILLs it once it reports the COMMIT. */
function crashBetweenCommitAndSend(deps: ScenarioDeps, steps: string[]): Promise<{ orderId: string; clientSaw: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER], {
      cwd: SERVICE_DIR,
      env: { ...process.env, CRASH_WRITER_DATABASE_URL: deps.appDatabaseUrl, CRASH_WRITER_TOPIC: deps.topic },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let orderId: string | undefined;
    child.on('message', (msg: { committed?: string }) => {
      if (msg.committed) {
        orderId = msg.committed;
        steps.push(`child process ${child.pid}: order ${orderId} committed; about to send OrderCreated`);
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!orderId) return reject(new Error(`crash writer exited (code ${code}, signal ${signal}) before committing`));
      steps.push(`child process killed by ${signal} between COMMIT and send — the event existed only in its memory`);
      resolve({ orderId, clientSaw: `connection lost (process killed by ${signal})` });
    });
  });
}

export async function runBlackHole(deps: ScenarioDeps, cause: BlackHoleCause): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const { orderId, clientSaw } = cause === 'broker' ? await brokerCut(deps, steps) : await crashBetweenCommitAndSend(deps, steps);
  const orderInDb = await deps.evidence.orderExists(orderId);
  steps.push(`order row in the database: ${orderInDb ? 'yes' : 'no'}`);
  const audit = auditFor(await deps.evidence.audit(0), [orderId]);
  const messageInKafka = !audit.blackHoles.includes(orderId);
  steps.push(`audit read every partition up to its high watermark: message for the order ${messageInKafka ? 'found' : 'not found'}`);
  const effects = await deps.evidence.effects(orderId);
  const damage = orderInDb && !messageInKafka;
  return {
    scenario: 'mq',
    variant: cause,
    strategy: 'naive-after-commit',
    title: cause === 'broker' ? 'Message black hole: the broker was cut after COMMIT' : 'Message black hole: the process crashed between COMMIT and send',
    steps,
    findings: { orderId, clientSaw, orderInDb, messageInKafka, downstreamEffects: effects.shipments.length + effects.invoices.length },
    audit,
    damage,
    summary: damage ? `black hole: order ${orderId} is committed, no OrderCreated exists, downstream will never hear of it` : 'no black hole this time',
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}
