/** startShipping(): the shipping consumer (group `shipping`), for main.ts and for code that runs it in-process. */
import { startDownstreamConsumer, type DownstreamConsumer, type DownstreamConsumerOptions } from '@dual-write/downstream';
import { recordShipment, SHIPMENTS_TABLE } from './effect.ts';

export const SHIPPING_GROUP_ID = 'shipping';

/** Every option of startDownstreamConsumer except the effect; name and groupId default to 'shipping'. */
export type ShippingOptions = Omit<DownstreamConsumerOptions, 'name' | 'groupId' | 'recordEffect' | 'requiredTables'> & { name?: string; groupId?: string };

export function startShipping(opts: ShippingOptions = {}): Promise<DownstreamConsumer> {
  return startDownstreamConsumer({
    ...opts,
    name: opts.name ?? 'shipping',
    groupId: opts.groupId ?? SHIPPING_GROUP_ID,
    recordEffect: recordShipment,
    requiredTables: [SHIPMENTS_TABLE],
  });
}
