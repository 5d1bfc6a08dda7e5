/**
 * startTelemetry(): the one call a process of the lab makes at its start, BEFORE it loads the modules that the
 * instrumentations patch (pg, fastify → node:http): entries call it first and import the rest of their code
 * dynamically afterwards.
 *
 * Nothing configured (see options.ts) → it loads nothing and returns a handle whose calls do nothing: the code's
 * @opentelemetry/api calls stay no-ops (zero cost). Configured → a NodeTracerProvider with `service.name`, the W3C
 * trace-context propagator, the AsyncLocalStorage context manager, the exporters, and these instrumentations:
 *  - @opentelemetry/instrumentation-http: the order service's SERVER spans (Fastify serves through node:http);
 *  - @opentelemetry/instrumentation-undici: CLIENT spans of fetch() (the consumers' callback), with `traceparent`
 *    injected — it listens on undici's diagnostics_channel, so it needs no patching and works under ESM as is;
 *  - @opentelemetry/instrumentation-pg: CLIENT spans of every pg query. pg and node:http are patched on load: under
 *    ESM (tsx) that needs import-in-the-middle's loader hook, registered here (module.register) for exactly the
 *    modules these instrumentations patch, before they are imported.
 * Kafka is traced with manual spans through @opentelemetry/api (relay, consumers, the naive publisher), not with
 * @opentelemetry/instrumentation-kafkajs — see README "Tracing".
 */
import { register } from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { isDwError } from '@dual-write/config';
import { resolveTelemetryOptions, type TelemetryOptions } from './options.ts';

export interface StartTelemetryOptions {
  /** The resource's service.name: order-service, outbox-relay, shipping, billing. */
  serviceName: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default true: http, undici and pg instrumentations (false: only the manual spans of the code). */
  instrumentations?: boolean;
}

export interface Telemetry {
  /** True when spans are exported somewhere. */
  readonly enabled: boolean;
  readonly options: TelemetryOptions;
  /** Exports what is buffered (OTLP). */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting; idempotent. */
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

export async function startTelemetry(opts: StartTelemetryOptions): Promise<Telemetry> {
  const options = resolveTelemetryOptions(opts.env ?? process.env);
  if (!options.otlpTracesUrl && !options.file) {
    return { enabled: false, options, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  }
  if (started) return started; // one provider per process

  const [{ NodeTracerProvider }, { BatchSpanProcessor, SimpleSpanProcessor }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const spanProcessors = [];
  if (options.file) {
    const { JsonLinesFileExporter } = await import('./file-exporter.ts');
    // Simple: each span is written when it ends (synchronously) — nothing waits in a buffer at exit.
    spanProcessors.push(new SimpleSpanProcessor(new JsonLinesFileExporter(options.file)));
  }
  if (options.otlpTracesUrl) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl }), { scheduledDelayMillis: 1000 }));
  }
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }), spanProcessors });
  provider.register(); // global tracer provider, AsyncLocalStorage context manager, W3C traceparent + baggage propagator

  if (opts.instrumentations !== false) {
    const { createAddHookMessageChannel } = await import('import-in-the-middle');
    const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
    register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
    const [{ registerInstrumentations }, { HttpInstrumentation }, { UndiciInstrumentation }, { PgInstrumentation }] = await Promise.all([
      import('@opentelemetry/instrumentation'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-undici'),
      import('@opentelemetry/instrumentation-pg'),
    ]);
    const instrumentations: Instrumentation[] = [
      // Only server spans from node:http: the code's outgoing HTTP is fetch() (undici, below).
      new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true }),
      new UndiciInstrumentation(),
      // requireParentSpan: a query outside a traced operation (the relay's polling, pool pings) makes no root span.
      new PgInstrumentation({ requireParentSpan: true }),
    ];
    registerInstrumentations({ tracerProvider: provider, instrumentations });
    await waitForAllMessagesAcknowledged();
  }

  let down: Promise<void> | undefined;
  const telemetry: Telemetry = {
    enabled: true,
    options,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => (down ??= provider.shutdown().catch(() => {})),
  };
  // An entry that ends with process.exit() calls shutdown() first (OTLP keeps up to a second of spans in a buffer).
  process.once('beforeExit', () => void telemetry.shutdown());
  started = telemetry;
  return telemetry;
}

/** For an entry's first lines: startTelemetry(), and a bad OTEL_* setting printed as `[CODE] message → hint`, exit 2. */
export async function startTelemetryOrExit(opts: StartTelemetryOptions): Promise<Telemetry> {
  try {
    return await startTelemetry(opts);
  } catch (err) {
    console.error(isDwError(err) ? err.format() : err);
    process.exit(2);
  }
}
