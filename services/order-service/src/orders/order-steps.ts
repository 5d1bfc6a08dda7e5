/**
 * The later steps of an order, each one event of its stream: created → paid (OrderPaid, sequence 2) → shipped
 * (OrderShipped, sequence 3). A step is one transaction: SELECT … FOR UPDATE the order row (steps of one order
 * run one at a time), check the step is the next one, bump `version`, write the outbox row. Steps always go through
 * the outbox: the order's stream is published by the relay in commit order, which the auditor and the consumers check.
 */
import { randomUUID } from 'node:crypto';
import { DwError } from '@dual-write/config';
import { enqueue, sequelizeExecutor } from '@dual-write/outbox';
import { ORDER_PAID, ORDER_SHIPPED, type OrderStatusEvent } from '@dual-write/schema';
import type { Database, OrderRow } from '../db/database.ts';
import { toOutboxMessage } from './outbox-message.ts';
import { traceEnqueue } from './tracing.ts';

/** Each step: the status it leads to, the status it needs before, and its event. */
export const ORDER_STEPS = {
  paid: { from: 'created', event: ORDER_PAID },
  shipped: { from: 'paid', event: ORDER_SHIPPED },
} as const;

export type OrderStep = keyof typeof ORDER_STEPS;

export interface StepOutcome {
  order: OrderRow;
  event: OrderStatusEvent;
}

/** Moves order `id` to `status` and outboxes the step's event, in one transaction. */
export async function advanceOrder(db: Database, id: string, status: OrderStep): Promise<StepOutcome> {
  const step = ORDER_STEPS[status];
  return db.sequelize.transaction(async (transaction) => {
    const found = await db.Order.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE, raw: true });
    const row = found as unknown as OrderRow | null;
    if (!row) throw new DwError('DW_NOT_FOUND', `Order ${id} does not exist.`, 'Check the id: only an order created with POST /api/v1/orders can be paid or shipped.');
    if (row.status !== step.from) {
      throw new DwError(
        'DW_ORDER_STATE_CONFLICT',
        `Order ${id} is ${row.status}; it can become ${status} only when it is ${step.from}.`,
        row.status === status ? `It is already ${status}: nothing to do.` : `Follow the order's steps: created → paid → shipped.`,
        { status: row.status, requested: status },
      );
    }
    const version = Number(row.version) + 1;
    const event: OrderStatusEvent = { eventId: randomUUID(), type: step.event, orderId: id, sequence: version, occurredAt: new Date().toISOString() };
    await db.Order.update({ status, version }, { where: { id }, transaction });
    await traceEnqueue(event, () => enqueue(sequelizeExecutor(db.sequelize, transaction), toOutboxMessage(event)));
    return { order: { ...row, status, version }, event };
  });
}
