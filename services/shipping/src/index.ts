export { startShipping, SHIPPING_GROUP_ID, type ShippingOptions } from './start-shipping.ts';
export { recordShipment, SHIPMENTS_TABLE } from './effect.ts';
