export { buildApp, migrateDatabase, type App, type AppOptions, type AppPlugin, type AppPluginContext } from './app.ts';
// What a plugin of the app may build on (the benchmark's DB-only route): the order row, its body and its 201.
export { createOrderBodySchema, newOrderCreated, orderBodySchemaFor, type CreateOrderBody } from './orders/order-input.ts';
export { insertOrder } from './orders/write-order.ts';
export { createdOrderJson, createOrderResponseSchema } from './http/order-routes.ts';
export type { ServiceContext } from './service-context.ts';
export { closeOnSignals, runMain } from './process-lifecycle.ts';
