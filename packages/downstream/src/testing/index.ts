/** Test helpers for downstream consumers (`@dual-write/downstream/testing`): a stand-in order API and OrderCreated producers. */
export { startFakeOrderApi, type FakeOrderApi, type ScriptedFailure } from './fake-order-api.ts';
export { orderCreatedEvent, orderStatusEvent, produceMessage } from './order-events.ts';
export { useConsumerHarness, type ConsumerHarness, type ServiceStarter } from './consumer-harness.ts';
