/** startBilling(): the billing consumer (group `billing`), for main.ts and for code that runs it in-process. */
import { startDownstreamConsumer, type DownstreamConsumer, type DownstreamConsumerOptions } from '@dual-write/downstream';
import { INVOICES_TABLE, recordInvoice } from './effect.ts';

export const BILLING_GROUP_ID = 'billing';

/** Every option of startDownstreamConsumer except the effect; name and groupId default to 'billing'. */
export type BillingOptions = Omit<DownstreamConsumerOptions, 'name' | 'groupId' | 'recordEffect' | 'requiredTables'> & { name?: string; groupId?: string };

export function startBilling(opts: BillingOptions = {}): Promise<DownstreamConsumer> {
  return startDownstreamConsumer({
    ...opts,
    name: opts.name ?? 'billing',
    groupId: opts.groupId ?? BILLING_GROUP_ID,
    recordEffect: recordInvoice,
    requiredTables: [INVOICES_TABLE],
  });
}
