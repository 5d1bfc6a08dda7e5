export { runAudit, type AuditProgress, type RunAuditContext } from './audit.ts';
export { formatReport, type FormatOptions } from './format.ts';
export {
  reportDiverges,
  type AuditReport,
  type AuditCounts,
  type Ghost,
  type BlackHole,
  type Duplicate,
  type OrderViolation,
  type Premature,
  type PrematureCheck,
  type UnreadableMessage,
  type MessageLocation,
  type PartitionRead,
} from './report.ts';
export { resolveAuditOptions, redactUrl, DEFAULTS as AUDIT_DEFAULTS, OPTION_FLAGS, type AuditOptions, type ResolvedAuditOptions } from './options.ts';
export { parseFieldSource, describeFieldSource, MessageReader, type FieldSource, type FieldResult, type MessageLike } from './fields.ts';
export { Analyzer, type AnalyzerSources, type AnalyzerRow, type AnalysisResult } from './analyzer.ts';
export { parseCliArgs, HELP as AUDIT_CLI_HELP, type CliArgs } from './args.ts';
