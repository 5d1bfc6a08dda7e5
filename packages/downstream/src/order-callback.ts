/**
 * The call back to the order API: GET {orderServiceUrl}/api/v1/orders/:id.
 * 200 → the order exists (its total comes back in `totalCents`); 404 → it does not (a ghost order).
 * Anything else — another status, a timeout, a refused or dropped connection — is not an answer:
 * it throws, and the caller retries the message later.
 */
import { DwError } from '@dual-write/config';

export interface VerifiedOrder {
  id: string;
  totalCents: number;
}

export type OrderVerdict =
  | { kind: 'found'; status: 200; order: VerifiedOrder }
  | { kind: 'ghost'; status: 404 };

export interface VerifyOrderOptions {
  orderServiceUrl: string;
  timeoutMs: number;
  /** Aborts the call (the consumer is stopping). */
  signal?: AbortSignal;
  /** Who calls, sent as the User-Agent (e.g. 'shipping'), so the order service's logs can tell the consumers apart. */
  caller?: string;
}

export function orderUrl(orderServiceUrl: string, orderId: string): string {
  return `${orderServiceUrl.replace(/\/+$/, '')}/api/v1/orders/${encodeURIComponent(orderId)}`;
}

function unanswered(url: string, why: string, details: Record<string, unknown>, cause?: unknown): DwError {
  return new DwError(
    'DW_STACK_NOT_RUNNING',
    `The order API did not verify the order: GET ${url} ${why}.`,
    'Start the order service (npm start) or fix its URL; the consumer keeps retrying this message until the order API answers 200 or 404.',
    details,
    { cause },
  );
}

function parseTotalCents(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  return undefined;
}

export async function verifyOrder(orderId: string, opts: VerifyOrderOptions): Promise<OrderVerdict> {
  const url = orderUrl(opts.orderServiceUrl, orderId);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...(opts.caller ? { 'user-agent': `dual-write-${opts.caller}` } : {}) }, signal });
    body = await res.text();
  } catch (err) {
    const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : `failed: ${(err as Error).message}${causeMessage(err)}`;
    throw unanswered(url, why, { orderId }, err);
  }
  if (res.status === 404) return { kind: 'ghost', status: 404 };
  if (res.status !== 200) throw unanswered(url, `answered ${res.status}`, { orderId, status: res.status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw unanswered(url, 'answered 200 with a body that is not JSON', { orderId, status: 200 }, err);
  }
  const totalCents = parseTotalCents((parsed as { totalCents?: unknown } | null)?.totalCents);
  if (totalCents === undefined) throw unanswered(url, 'answered 200 without a whole-number totalCents', { orderId, status: 200 });
  return { kind: 'found', status: 200, order: { id: orderId, totalCents } };
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, socket hang up…) in `cause`. */
function causeMessage(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (!cause) return '';
  return ` (${cause.code ?? cause.message ?? String(cause)})`;
}
