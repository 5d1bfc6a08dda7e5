/**
 * @dual-write/telemetry on its own: the OTEL_* settings are validated with a code and a hint; nothing configured
 * starts nothing (the API stays a no-op); configured, spans reach the JSON-lines file and an OTLP HTTP endpoint.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { DwError } from '@dual-write/config';
import { runCommand } from '@dual-write/testkit';
import { resolveTelemetryOptions, startTelemetry, type ExportedSpan } from '../src/index.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-telemetry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = path.resolve(import.meta.dirname, '../../..');

function refusal(env: NodeJS.ProcessEnv): DwError {
  try {
    resolveTelemetryOptions(env);
  } catch (err) {
    return err as DwError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('resolveTelemetryOptions', () => {
  it('nothing set, or OTEL_SDK_DISABLED=true: no exporter', () => {
    expect(resolveTelemetryOptions({})).toEqual({ otlpTracesUrl: undefined, file: undefined });
    expect(resolveTelemetryOptions({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_FILE: path.join(dir, 'x.jsonl'), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' })).toEqual({ otlpTracesUrl: undefined, file: undefined });
  });

  it('the OTLP base endpoint gets /v1/traces; the traces endpoint is taken as it is and wins', () => {
    expect(resolveTelemetryOptions({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318/' }).otlpTracesUrl).toBe('http://localhost:4318/v1/traces');
    expect(resolveTelemetryOptions({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces' }).otlpTracesUrl).toBe('https://b/otlp/traces');
    expect(resolveTelemetryOptions({ OTEL_TRACES_FILE: path.join(dir, 'spans.jsonl') }).file).toBe(path.join(dir, 'spans.jsonl'));
  });

  it('refuses unusable values with DW_CONFIG_INVALID, the setting and a hint', () => {
    const cases: [NodeJS.ProcessEnv, RegExp, RegExp][] = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /OTEL_EXPORTER_OTLP_ENDPOINT="not a url" is not a URL/, /http:\/\/localhost:4318/],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, /uses grpc: \(only http: and https:/, /gRPC \(4317\) is not supported/],
      [{ OTEL_TRACES_FILE: path.join(dir, 'missing', 'spans.jsonl') }, /OTEL_TRACES_FILE=.* is in a folder that does not exist/, /Create the folder/],
      [{ OTEL_TRACES_FILE: dir }, /is a folder/, /Give a file name/],
      [{ OTEL_SDK_DISABLED: 'yes' }, /is neither true nor false/, /OTEL_SDK_DISABLED=true/],
    ];
    for (const [env, message, hint] of cases) {
      const err = refusal(env);
      expect(err).toBeInstanceOf(DwError);
      expect(err.code).toBe('DW_CONFIG_INVALID');
      expect(err.message).toMatch(message);
      expect(err.hint).toMatch(hint);
    }
  });

  it('an entry with a bad setting stops at start: [DW_CONFIG_INVALID] and the hint, exit 2', async () => {
    const r = await runCommand(process.execPath, ['--import', 'tsx', 'services/shipping/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, OTEL_TRACES_FILE: path.join(dir, 'missing', 'spans.jsonl') },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[DW_CONFIG_INVALID\] OTEL_TRACES_FILE=.* is in a folder that does not exist/);
    expect(r.stderr).toContain('→ Create the folder');
  });
});

describe('startTelemetry', () => {
  it('nothing configured: not enabled, no tracer provider registered — spans are non-recording no-ops', async () => {
    const t = await startTelemetry({ serviceName: 'unit', env: {} });
    expect(t.enabled).toBe(false);
    const span = trace.getTracer('unit').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    span.end();
    await t.shutdown();
  });

  it('configured: every ended span is a line of the file (ids, parent, kind, service, attributes, times) and is posted to the OTLP endpoint', async () => {
    const posts: { url: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posts.push({ url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const file = path.join(dir, 'unit.jsonl');
    try {
      const t = await startTelemetry({
        serviceName: 'unit-service',
        env: { OTEL_TRACES_FILE: file, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
        instrumentations: false,
      });
      expect(t.enabled).toBe(true);
      const tracer = trace.getTracer('unit');
      const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER, attributes: { 'http.route': '/x' } });
      const child = tracer.startSpan('child', { kind: SpanKind.PRODUCER }, trace.setSpan(context.active(), parent));
      child.end();
      parent.end();
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ExportedSpan);
      expect(lines.map((s) => s.name)).toEqual(['child', 'parent']);
      const [c, p] = lines as [ExportedSpan, ExportedSpan];
      expect(p).toMatchObject({ name: 'parent', kind: 'SERVER', service: 'unit-service', attributes: { 'http.route': '/x' }, scope: 'unit', traceId: parent.spanContext().traceId, spanId: parent.spanContext().spanId });
      expect(p.parentSpanId).toBeUndefined();
      expect(c).toMatchObject({ kind: 'PRODUCER', traceId: p.traceId, parentSpanId: p.spanId });
      expect(p.end).toBeGreaterThanOrEqual(p.start);
      expect(p.start).toBeGreaterThan(Date.now() - 60_000);

      await t.shutdown(); // flushes the OTLP batch
      expect(posts.map((x) => x.url)).toEqual(['/v1/traces']);
      expect(posts[0]!.body).toContain('unit-service');
      expect(posts[0]!.body).toContain(parent.spanContext().spanId);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
