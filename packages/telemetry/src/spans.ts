/**
 * Running code under a span, with @opentelemetry/api only (no SDK is loaded by importing this: without a tracer
 * provider the span is a no-op): the order service's and the consumers' hand-written spans share it.
 */
import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

/** Runs `fn` with `span` active (as a child of `parent`, default the active context); records a thrown error and ends the span. */
export async function inSpan<T>(span: Span, fn: () => Promise<T>, parent: Context = context.active()): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
