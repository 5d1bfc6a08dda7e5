/**
 * The outbox's errors. Each carries a stable `code` (listed below and in the README, "Errors") and a `hint`
 * that says what to do about it. The relay's errors use the same shape (`CodedError`).
 */
export const OUTBOX_ERROR_CODES = {
  DW_OUTBOX_INVALID_MESSAGE: 'A message given to the outbox (enqueue, processOnce, dead letters) is invalid.',
  DW_OUTBOX_INVALID_OPTION: 'An outbox option (schema, table, executor, migrations folder) cannot be used.',
  DW_OUTBOX_NOT_MIGRATED: 'The outbox tables do not exist in the database.',
  DW_OUTBOX_MIGRATION_CHANGED: 'A migration that was already applied has been edited.',
  DW_OUTBOX_DEAD_LETTER_NOT_FOUND: 'No dead letter has the given id.',
} as const;

export type OutboxErrorCode = keyof typeof OUTBOX_ERROR_CODES;

/** An error with a stable code and a hint for the reader. */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: Code, message: string, hint: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  /** For a terminal: `[CODE] message\n  → hint`. */
  format(): string {
    return `[${this.code}] ${this.message}\n  → ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Thrown by @dual-write/outbox; `code` is one of OUTBOX_ERROR_CODES. */
export class OutboxError extends CodedError<OutboxErrorCode> {}

