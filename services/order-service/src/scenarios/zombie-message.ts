/**
 * kind=db — the zombie message. BEGIN → INSERT order → send OrderCreated (acked) → the database connection
 * is reset by Toxiproxy before COMMIT reaches PostgreSQL → the commit fails, PostgreSQL rolls back.
 * Kafka keeps the message; shipping calls back GET /api/v1/orders/:id and gets 404.
 */
import { newOrderCreated } from '../orders/order-input.ts';
import { writeOrder, WriteFailedError } from '../orders/write-order.ts';
import { auditFor } from './evidence.ts';
import { SAMPLE_ORDER, type ScenarioDeps } from './scenario-deps.ts';
import type { ScenarioReport } from './report.ts';

export async function runZombieMessage(deps: ScenarioDeps): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: 'scenario-db' }, 'naive');
  let kafka: { partition: number; offset: string } | undefined;
  let commitError: string | undefined;
  try {
    await writeOrder(deps.service, event, 'naive', {
      beforeCommit: async (_e, published) => {
        kafka = published;
        steps.push(`OrderCreated ${event.orderId} acknowledged by Kafka (partition ${published.partition}, offset ${published.offset})`);
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
  const effects = await deps.evidence.waitForEffects(event.orderId, deps.effectTimeoutMs);
  const shipping = effects.shipments[0];
  steps.push(
    shipping
      ? `shipping consumed the message, called back GET /api/v1/orders/${event.orderId} → ${shipping.callbackStatus}, recorded "${shipping.outcome}"`
      : `no shipping effect within ${deps.effectTimeoutMs} ms (is the shipping consumer running?)`,
  );
  const audit = auditFor(await deps.evidence.audit(), [event.orderId]);
  const damage = !orderInDb && audit.ghosts.length > 0;
  return {
    scenario: 'db',
    strategy: 'naive',
    title: 'Zombie message: Kafka has the event, the database rolled the order back',
    steps,
    findings: {
      orderId: event.orderId,
      eventId: event.eventId,
      kafka: kafka ?? null,
      commitError: commitError ?? null,
      orderInDb,
      messageInKafka: audit.ghosts.length > 0,
      shippingCallbackStatus: shipping?.callbackStatus ?? null,
      effects: { shipments: effects.shipments, invoices: effects.invoices },
    },
    audit,
    damage,
    summary: damage
      ? `ghost: the message for order ${event.orderId} exists, the order does not; shipping got ${shipping?.callbackStatus ?? 'no callback yet'}`
      : 'no zombie message this time',
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}
