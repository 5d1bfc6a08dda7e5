/**
 * Where a process's spans go, from its environment — validated like the rest of the lab's settings (code + hint):
 *  - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL, e.g. http://localhost:4318/v1/traces) or
 *    OTEL_EXPORTER_OTLP_ENDPOINT (the base URL; /v1/traces is appended): OTLP over HTTP (protobuf-free JSON);
 *  - OTEL_TRACES_FILE=<path>: one JSON object per finished span, one line each, appended (the tests read it);
 *  - OTEL_SDK_DISABLED=true: nothing, whatever else is set;
 *  - none of them: nothing — no SDK is loaded, the @opentelemetry/api calls of the code stay no-ops.
 */
import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { DwError } from '@dual-write/config';

export interface TelemetryOptions {
  /** OTLP HTTP traces URL (…/v1/traces), when set. */
  otlpTracesUrl: string | undefined;
  /** JSON-lines file of finished spans, when set (absolute). */
  file: string | undefined;
}

export const TELEMETRY_ENV = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_FILE', 'OTEL_SDK_DISABLED'] as const;

function invalid(name: string, value: string, why: string, hint: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `${name}=${JSON.stringify(value)} ${why}.`, hint, { setting: name, value });
}

function httpUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(name, value, 'is not a URL', `Set ${name} to the OTLP HTTP endpoint of a collector, e.g. http://localhost:4318${name.includes('TRACES') ? '/v1/traces' : ''}, or unset it.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(name, value, `uses ${url.protocol} (only http: and https: — the exporter is OTLP over HTTP)`, `Use the collector's OTLP HTTP port (4318), e.g. http://localhost:4318${name.includes('TRACES') ? '/v1/traces' : ''}; gRPC (4317) is not supported here.`);
  }
  return url;
}

export function resolveTelemetryOptions(env: NodeJS.ProcessEnv = process.env): TelemetryOptions {
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase();
  if (disabled !== undefined && disabled !== '' && disabled !== 'true' && disabled !== 'false') {
    throw invalid('OTEL_SDK_DISABLED', env.OTEL_SDK_DISABLED!, 'is neither true nor false', 'Set OTEL_SDK_DISABLED=true to export nothing, or unset it.');
  }
  if (disabled === 'true') return { otlpTracesUrl: undefined, file: undefined };

  let otlpTracesUrl: string | undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (traces) otlpTracesUrl = httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces).href;
  else if (base) otlpTracesUrl = `${httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base).href.replace(/\/+$/, '')}/v1/traces`;

  let file: string | undefined;
  const f = env.OTEL_TRACES_FILE;
  if (f !== undefined && f.trim() !== '') {
    file = path.resolve(f.trim());
    const dir = path.dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw invalid('OTEL_TRACES_FILE', f, `is in a folder that does not exist (${dir})`, 'Create the folder first, or point OTEL_TRACES_FILE at a file in an existing one.');
    }
    if (existsSync(file) && statSync(file).isDirectory()) {
      throw invalid('OTEL_TRACES_FILE', f, 'is a folder', 'Give a file name: the spans are appended to it, one JSON object per line.');
    }
  }
  return { otlpTracesUrl, file };
}
