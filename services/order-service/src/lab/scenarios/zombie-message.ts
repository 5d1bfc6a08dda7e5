/**
 * kind=db — the zombie message. BEGIN → INSERT order → send OrderCreated (acked) → the database connection
 * is reset by Toxiproxy before COMMIT reaches PostgreSQL → the commit fails, PostgreSQL rolls back.
 * Kafka keeps the message; shipping calls back GET /api/v1/orders/:id and gets 404.
 */
import { newOrderCreated } from '../../orders/order-input.ts';
import { writeOrder, WriteFailedError } from '../../orders/write-order.ts';
import { auditFor } from './evidence.ts';
import { SAMPLE_ORDER, type ScenarioDeps } from './scenario-deps.ts';
import type { ScenarioReport } from './report.ts';

export async function runZombieMessage(deps: ScenarioDeps, strategy: 'naive' | 'outbox' = 'naive'): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: `scenario-db-${strategy}` }, strategy);
  let kafka: { partition: number; offset: string } | undefined;
  let commitError: string | undefined;
  try {
    await writeOrder(deps.service, event, strategy, {
      beforeCommit: async (_e, published) => {
        kafka = published;
        steps.push(
          published
            ? `OrderCreated ${event.orderId} acknowledged by Kafka (partition ${published.partition}, offset ${published.offset})`
            : `order ${event.orderId} and its outbox row written in one transaction (nothing sent to Kafka)`,
        );
        // COMMIT is the next thing on the wire: the proxy swallows it and resets the connection.
        await deps.faults.add('postgres', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } });
        steps.push('Toxiproxy: reset_peer on the postgres proxy — the connection is dropped before COMMIT reaches PostgreSQL');
      },
    });
    steps.push('COMMIT succeeded (unexpected: the fault did not hit)');
  } catch (err) {
    commitError = err instanceof WriteFailedError ? `${err.stage}: ${(err.cause as Error)?.message}` : String(err);
    steps.push(`COMMIT failed: ${commitError} — PostgreSQL rolls the transaction back`);
  } finally {
    await deps.faults.cleanup();
  }
  const orderInDb = await deps.evidence.orderExists(event.orderId);
  steps.push(`order row in the database: ${orderInDb ? 'yes' : 'no'}`);
  const outboxRow = strategy === 'outbox' ? (await deps.evidence.outboxRows([event.eventId])) > 0 : undefined;
  if (outboxRow !== undefined) steps.push(`outbox row in the database: ${outboxRow ? 'yes' : 'no'} — rolled back with the order`);
  // A message can only exist if Kafka acknowledged one; only then is there a callback to wait for.
  const effects = kafka ? await deps.evidence.waitForEffects(event.orderId, deps.effectTimeoutMs) : { ...(await deps.evidence.effects(event.orderId)), timedOut: false };
  const shipping = effects.shipments[0];
  steps.push(
    shipping
      ? `shipping consumed the message, called back GET /api/v1/orders/${event.orderId} → ${shipping.callbackStatus}, recorded "${shipping.outcome}"`
      : kafka
        ? `no shipping effect within ${deps.effectTimeoutMs} ms (is the shipping consumer running?)`
        : 'no message was ever sent, so no downstream service can act on it',
  );
  const audit = auditFor(await deps.evidence.audit(), [event.orderId]);
  steps.push(`audit: ${audit.ghosts.length} ghost message(s) for the order`);
  const damage = !orderInDb && audit.ghosts.length > 0;
  return {
    scenario: 'db',
    strategy,
    title: strategy === 'outbox' ? 'Connection dropped before COMMIT, outbox strategy: order and outbox row roll back together' : 'Zombie message: Kafka has the event, the database rolled the order back',
    steps,
    findings: {
      orderId: event.orderId,
      eventId: event.eventId,
      kafka: kafka ?? null,
      commitError: commitError ?? null,
      orderInDb,
      outboxRow: outboxRow ?? null,
      messageInKafka: audit.ghosts.length > 0,
      shippingCallbackStatus: shipping?.callbackStatus ?? null,
      effects: { shipments: effects.shipments, invoices: effects.invoices },
    },
    audit,
    damage,
    summary: damage
      ? `ghost: the message for order ${event.orderId} exists, the order does not; shipping got ${shipping?.callbackStatus ?? 'no callback yet'}`
      : `consistent: no order, no ${strategy === 'outbox' ? 'outbox row, no ' : ''}message, no downstream effect`,
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}
