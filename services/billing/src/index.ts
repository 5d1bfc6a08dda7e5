export { startBilling, BILLING_GROUP_ID, type BillingOptions } from './start-billing.ts';
export { recordInvoice, INVOICES_TABLE } from './effect.ts';
