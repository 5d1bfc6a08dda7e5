/**
 * A span exporter that appends one JSON object per span, one line each, to a file — synchronously, so a span is in
 * the file once it has ended (a process killed right after loses nothing). Meant for tests and for a quick look
 * (`jq`), not for production volumes.
 */
import { appendFileSync } from 'node:fs';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** One line of the file. Times are epoch milliseconds (fractional). */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  /** The resource's service.name. */
  service: string;
  attributes: Attributes;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  start: number;
  end: number;
  /** The instrumentation scope (@opentelemetry/instrumentation-http, @dual-write/relay, …). */
  scope: string;
}

const toMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

export function toExportedSpan(span: ReadableSpan): ExportedSpan {
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: SpanKind[span.kind] as ExportedSpan['kind'],
    service: String(span.resource.attributes['service.name'] ?? ''),
    attributes: span.attributes,
    status: { code: span.status.code, ...(span.status.message ? { message: span.status.message } : {}) },
    start: toMs(span.startTime),
    end: toMs(span.endTime),
    scope: span.instrumentationScope.name,
  };
}

export class JsonLinesFileExporter implements SpanExporter {
  constructor(private readonly file: string) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      appendFileSync(this.file, spans.map((s) => `${JSON.stringify(toExportedSpan(s))}\n`).join(''));
      resultCallback({ code: 0 });
    } catch (err) {
      resultCallback({ code: 1, error: err as Error });
    }
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
