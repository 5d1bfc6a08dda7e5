/** The detector's errors: a stable `code` and a `hint` that says what to do (the same shape as the outbox's). */
export const DETECTOR_ERROR_CODES = {
  DW_DETECTOR_INVALID_OPTION: 'An option of detectHostageConnections() cannot be used.',
  DW_DETECTOR_ALREADY_ACTIVE: 'detectHostageConnections() is already active on these modules.',
} as const;

export type DetectorErrorCode = keyof typeof DETECTOR_ERROR_CODES;

export class DetectorError extends Error {
  readonly code: DetectorErrorCode;
  readonly hint: string;

  constructor(code: DetectorErrorCode, message: string, hint: string) {
    super(message);
    this.name = 'DetectorError';
    this.code = code;
    this.hint = hint;
  }

  /** For a terminal: `[CODE] message\n  → hint`. */
  format(): string {
    return `[${this.code}] ${this.message}\n  → ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}
