/** @dual-write/telemetry — the lab's OpenTelemetry set-up (README "Tracing"). */
export { startTelemetry, startTelemetryOrExit, type StartTelemetryOptions, type Telemetry } from './start.ts';
export { resolveTelemetryOptions, TELEMETRY_ENV, type TelemetryOptions } from './options.ts';
export type { ExportedSpan } from './file-exporter.ts';
