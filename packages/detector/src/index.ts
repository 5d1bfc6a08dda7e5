export { detectHostageConnections, type HostageDetector, type HostageDetectorOptions, type HostageReport, type PgModule, type KafkajsModule } from './detector.ts';
export type { PrometheusOptions } from './metrics.ts';
export { DetectorError, DETECTOR_ERROR_CODES, type DetectorErrorCode } from './errors.ts';
