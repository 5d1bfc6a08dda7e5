/**
 * kind=early — the message that outruns its commit. BEGIN → INSERT order → send OrderCreated (acknowledged) →
 * the transaction goes on with further work → COMMIT. Between the acknowledgement and the COMMIT the message is
 * readable and the order is not: shipping and billing read it, call back GET /api/v1/orders/:id, are answered
 * 404 and record a ghost. Then the order commits — it exists, the client got 201 — and it will never be shipped.
 *
 * Unlike kind=db (a ghost: the order never commits), nothing fails here: every step succeeds, only in the wrong
 * order. The lab makes the window deterministic by letting the transaction's further work last until both
 * consumers have looked (the service sees their callbacks), at most effectTimeoutMs: a real delay between
 * Kafka's acknowledgement and the COMMIT, not a sleep in the consumer.
 * strategy=outbox: the same further work (holdMs) after the outbox row is written; no message exists until the
 * relay reads the committed row, so the consumers find the order.
 */
import { newOrderCreated } from '../../orders/order-input.ts';
import { writeOrder } from '../../orders/write-order.ts';
import { auditFor, classifyEffects } from './evidence.ts';
import type { ScenarioReport } from './report.ts';
import { SAMPLE_ORDER, type ScenarioDeps } from './scenario-deps.ts';

/** The consumers that call back (shipping and billing). */
const CONSUMERS = 2;

export async function runPrematureMessage(deps: ScenarioDeps, strategy: 'naive' | 'outbox', holdMs: number): Promise<ScenarioReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const event = newOrderCreated({ ...SAMPLE_ORDER, customerId: `scenario-early-${strategy}` }, strategy);
  const watch = deps.callbacks.track(event.orderId);
  let kafka: { partition: number; offset: string } | undefined;
  let heldMs = 0;
  let lookedBeforeCommit = 0;
  try {
    await writeOrder(deps.service, event, strategy, {
      beforeCommit: async (_e, published) => {
        const held = Date.now();
        if (published) {
          kafka = published;
          steps.push(`OrderCreated ${event.orderId} acknowledged by Kafka (partition ${published.partition}, offset ${published.offset}) — inside the transaction, before COMMIT`);
          steps.push('the transaction goes on with further work; the order is not committed yet (the lab lets this work last until shipping and billing have looked)');
          const seen = await watch.waitFor(404, CONSUMERS, deps.effectTimeoutMs);
          lookedBeforeCommit = seen.lookups.length;
          steps.push(
            seen.timedOut
              ? `after ${deps.effectTimeoutMs} ms only ${seen.lookups.length} callback(s) had come (are shipping and billing running?)`
              : `shipping and billing read the message and called back GET /api/v1/orders/${event.orderId}: ${describeLookups(seen.lookups)} — ${Date.now() - held} ms after the acknowledgement, the order was not visible yet`,
          );
        } else {
          steps.push(`order ${event.orderId} and its outbox row written in one transaction (nothing sent to Kafka)`);
          steps.push(`the transaction goes on with the same further work for ${holdMs} ms`);
          await new Promise((r) => setTimeout(r, holdMs)); // stands in for the transaction's further work
          lookedBeforeCommit = watch.lookups().length;
          steps.push(`callbacks for the order while the transaction was open: ${lookedBeforeCommit} (no message exists yet for anyone to read)`);
        }
        heldMs = Date.now() - held;
      },
    });
    steps.push('COMMIT succeeded: the order exists from now on, and the client is answered 201 Created');
  } finally {
    watch.stop();
  }
  if (strategy === 'outbox') {
    const drained = await deps.evidence.waitForOutboxDrained([event.eventId], deps.effectTimeoutMs);
    steps.push(drained.drained ? `the relay published the committed outbox row ${drained.ms} ms later` : `the outbox row was still waiting after ${drained.ms} ms (is the relay running?)`);
  }
  const orderInDb = await deps.evidence.orderExists(event.orderId);
  const effects = await deps.evidence.waitForEffects(event.orderId, deps.effectTimeoutMs);
  const classified = classifyEffects(effects, orderInDb);
  const shipping = effects.shipments[0];
  steps.push(
    shipping
      ? `shipping recorded "${shipping.outcome}" (its callback got ${shipping.callbackStatus})${classified.premature ? ' — for an order that exists: the message outran its commit' : ''}`
      : `no shipping effect within ${deps.effectTimeoutMs} ms (is the shipping consumer running?)`,
  );
  const audit = auditFor(await deps.evidence.audit(), [event.orderId]);
  const premature = audit.premature[0];
  steps.push(
    audit.prematureChecked
      ? premature
        ? `audit: the message was appended ${premature.leadMs.toFixed(1)} ms before the order committed (premature); ${audit.ghosts.length} ghost(s)`
        : `audit: the message was appended after the order committed; ${audit.ghosts.length} ghost(s)`
      : `audit: ${audit.prematureReason}`,
  );
  const neverShipped = orderInDb && !effects.shipments.some((s) => s.outcome === 'shipped');
  const damage = classified.premature > 0;
  const rescued = !damage && strategy === 'naive' && orderInDb && lookedBeforeCommit > 0 && !neverShipped;
  return {
    scenario: 'early',
    strategy,
    title: strategy === 'outbox' ? 'Further work before COMMIT, outbox strategy: nothing is readable until the order is' : 'Premature message: Kafka has the event before the order is committed; the consumers find nothing',
    steps,
    findings: {
      orderId: event.orderId,
      eventId: event.eventId,
      kafka: kafka ?? null,
      transactionHeldMs: heldMs,
      callbacksBeforeCommit: lookedBeforeCommit,
      orderInDb,
      messageInKafka: orderInDb ? !audit.blackHoles.includes(event.orderId) : audit.ghosts.length > 0,
      shippingCallbackStatus: shipping?.callbackStatus ?? null,
      prematureEffects: classified.premature,
      neverShipped,
      effects: { shipments: effects.shipments, invoices: effects.invoices },
    },
    audit,
    damage,
    summary: damage
      ? `premature: order ${event.orderId} exists (committed ${heldMs} ms after Kafka's acknowledgement), but shipping and billing looked first, got 404 and recorded a ghost — it will never be shipped`
      : rescued
        ? `rescued: the consumers looked before the COMMIT (404) but retried the 404 (NOT_FOUND_RETRY_MS) and found the order afterwards`
        : `consistent: nothing was readable before the COMMIT; the order was ${neverShipped ? 'NOT shipped' : 'shipped and invoiced'}`,
    toxicsLeft: await deps.toxicsLeft(),
    durationMs: Date.now() - t0,
  };
}

function describeLookups(lookups: { status: number; caller: string }[]): string {
  return lookups.map((l) => `${l.caller.replace(/^dual-write-/, '')} → ${l.status}`).join(', ');
}
