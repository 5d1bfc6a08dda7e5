/** The relay's errors: a stable `code` (listed here and in the README, "Errors") and a `hint` saying what to do. */
import { CodedError } from '@dual-write/outbox';

export const RELAY_ERROR_CODES = {
  DW_RELAY_INVALID_OPTION: 'A relay option (or the environment variable it defaults from) has a value that cannot be used.',
  DW_RELAY_UNKNOWN_OPTION: 'An option was passed that the relay does not know (often a typo).',
  DW_RELAY_UNREACHABLE: 'The relay could not reach its database at start.',
  DW_RELAY_PORT_TAKEN: 'The port for /metrics and /health is used by another program.',
  DW_RELAY_SLOTS_MISMATCH: 'Another relay instance on the same database uses a different slot count.',
  DW_RELAY_POOLED_SESSION: 'The coordination session goes through a pooler in transaction or statement mode, where session advisory locks and LISTEN do not survive.',
  DW_RELAY_DRAIN_TIMEOUT: 'The relay did not drain the outbox within the given time.',
} as const;

export type RelayErrorCode = keyof typeof RELAY_ERROR_CODES;

/** Thrown by @dual-write/relay; `code` is one of RELAY_ERROR_CODES. A missing outbox table is the outbox's DW_OUTBOX_NOT_MIGRATED. */
export class RelayError extends CodedError<RelayErrorCode> {}
