/**
 * The dashboard's errors. Each carries a stable `code` (listed here and in the README, "Errors") and a `hint`
 * that says what to do about it — the shape of @dual-write/outbox's errors (`CodedError`). HTTP answers carry
 * the same `{ code, message, hint }` body.
 */
import { CodedError } from '@dual-write/outbox';

export const DASHBOARD_ERROR_CODES = {
  DW_DASHBOARD_INVALID_OPTION: 'An option given to createDashboard() cannot be used.',
  DW_DASHBOARD_UNAUTHORIZED: 'The authorize hook refused the request (401).',
  DW_DASHBOARD_FORBIDDEN: 'The authorizeWrite hook refused a write (403).',
  DW_DASHBOARD_READ_ONLY: 'The dashboard is read-only: replay, discard and panel actions are refused (403).',
  DW_DASHBOARD_CONFIRMATION_REQUIRED: 'A replay or discard did not repeat the dead letter id in `confirm` (400).',
  DW_DASHBOARD_BAD_REQUEST: 'A request to the JSON API is malformed (400).',
  DW_DASHBOARD_NOT_FOUND: 'No such page, API route, dead letter or panel action (404).',
  DW_DASHBOARD_AUDIT_NOT_CONFIGURED: 'An audit was asked for without a topic or brokers (400).',
  DW_DASHBOARD_AUDIT_FAILED: 'The auditor could not run (502).',
  DW_DASHBOARD_DATABASE: 'The database did not answer a dashboard query (503).',
  DW_DASHBOARD_CHROMIUM_MISSING: 'The browser tests need Chromium, and it could not be installed.',
} as const;

export type DashboardErrorCode = keyof typeof DASHBOARD_ERROR_CODES;

/** Thrown (and answered over HTTP) by @dual-write/dashboard; `status` is the HTTP status it is answered with. */
export class DashboardError extends CodedError<DashboardErrorCode> {
  readonly status: number;

  constructor(code: DashboardErrorCode, message: string, hint: string, opts: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, hint, opts.details, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status ?? 500;
  }
}
