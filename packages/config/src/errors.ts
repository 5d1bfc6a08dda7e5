/**
 * Every error this project raises on purpose carries a stable `code` and a `hint`
 * that tells the reader what to do about it. The registry below is the single list
 * of the lab's codes; a test checks that each one is documented in docs/errors.md. The outbox and the relay are
 * products of their own: their errors (OutboxError, RelayError: DW_OUTBOX_*, DW_RELAY_*) are listed in their READMEs.
 */
export const ERROR_CODES = {
  DW_CONFIG_INVALID: 'A setting has a value that cannot be used.',
  DW_CONFIG_UNKNOWN_OPTION: 'An option was passed that this component does not know.',
  DW_JAVA_MISSING: 'Java 17 or newer is needed to run the Kafka broker.',
  DW_MAVEN_MISSING: 'Maven is needed to fetch the Kafka jars from Maven Central.',
  DW_GO_MISSING: 'Go is needed to build the Toxiproxy server.',
  DW_PYTHON_MISSING: 'Python 3.11+ with its venv module is needed to install Schemathesis (the API contract test).',
  DW_PGBOUNCER_MISSING: 'PgBouncer is needed for the optional pooler service, and it could not be installed.',
  DW_PORT_TAKEN: 'A port the stack needs is used by another program.',
  DW_DOWNLOAD_FAILED: 'A download from a package registry failed.',
  DW_NOT_READY: 'A service did not become ready in time.',
  DW_PROCESS_FAILED: 'A process the stack started exited with an error.',
  DW_STACK_NOT_RUNNING: 'A command needs the local stack, and it is not running.',
  DW_VALIDATION: 'A request body or parameter is invalid.',
  DW_UNAUTHORIZED: 'A login was refused: wrong email or password.',
  DW_METHOD_NOT_ALLOWED: 'An HTTP method was used on a path that does not support it.',
  DW_BODY_TOO_LARGE: 'A request body is larger than the service accepts.',
  DW_UNSUPPORTED_MEDIA_TYPE: 'A request body was sent with a content type the route does not accept.',
  DW_FAULT_INJECTION_DISABLED: 'A fault-injection endpoint was called while fault injection is off.',
  DW_DB_POOL_EXHAUSTED: 'No database connection became free in time (Sequelize ConnectionAcquireTimeoutError).',
  DW_DB_UNAVAILABLE: 'The database connection failed or was dropped during the request.',
  DW_PUBLISH_FAILED: 'The message could not be published to Kafka.',
  DW_NOT_FOUND: 'The requested entity does not exist.',
  DW_ORDER_STATE_CONFLICT: 'An order step was asked for out of turn (an order goes created → paid → shipped).',
  DW_AUDIT_SOURCE_MISSING: 'The table or topic the auditor was pointed at does not exist.',
  DW_AUDIT_UNREACHABLE: 'The auditor could not reach the database or the broker.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DwError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, hint: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DwError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  /** One line for a terminal: `[CODE] message\n  → hint`. */
  format(): string {
    return `[${this.code}] ${this.message}\n  → ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

/** The shape every coded error of this repository has: the lab's DwError, and the outbox's and relay's errors. */
export interface CodedErrorLike extends Error {
  readonly code: string;
  readonly hint: string;
  format(): string;
  toJSON(): Record<string, unknown>;
}

/** A DwError, or an error of the outbox or relay packages (same shape, codes DW_OUTBOX_* / DW_RELAY_*). */
export function isDwError(err: unknown): err is CodedErrorLike {
  if (err instanceof DwError) return true;
  const e = err as Partial<CodedErrorLike> | null;
  return err instanceof Error && typeof e?.code === 'string' && e.code.startsWith('DW_') && typeof e.hint === 'string' && typeof e.format === 'function' && typeof e.toJSON === 'function';
}
