export { startDownstreamConsumer, type DownstreamConsumer } from './consumer.ts';
export { type DownstreamConsumerOptions } from './options.ts';
export { type RecordEffect, type EffectInput, type KafkaSource } from './effect.ts';
export { type DownstreamStats, type DownstreamEvents, type HandledMessage, type HandledTarget, type RetryNotice, type CrashNotice } from './handled-tracker.ts';
export { verifyOrder, orderUrl, type OrderVerdict, type VerifiedOrder } from './order-callback.ts';
export { decodeDownstreamMessage, type DecodedMessage, type DecodeResult } from './decode.ts';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from './retry.ts';
export { inTransaction } from './transaction.ts';
export { runConsumerProcess, type RunProcessOptions } from './run-process.ts';
