/**
 * The soak's traffic: POST /api/v1/orders at a steady rate (open loop — a slow or failing service does not
 * slow the arrivals down), at most `maxInFlight` at once, until enough orders were accepted and the caller
 * says stop. Every outcome is counted by kind: 201, an HTTP error with its code, a timeout, a refused connection.
 * With `steps`, each accepted order then takes its later steps (paid, shipped), one request after the other.
 */
import { randomInt } from 'node:crypto';

export interface SteadyLoadOptions {
  url: string;
  strategy: string;
  ratePerSec: number;
  /** Stop once this many orders were accepted (201) and `mayStop()` is true. */
  orders: number;
  mayStop: () => boolean;
  maxInFlight?: number;
  timeoutMs?: number;
  /** Customers the orders are spread over. */
  customers?: number;
  /**
   * The order's later steps, each its own request (its own transaction locking the order) sent once the previous one
   * answered: e.g. ['paid', 'shipped'] gives every accepted order the stream OrderCreated → OrderPaid → OrderShipped.
   */
  steps?: readonly string[];
}

export interface LoadCounts {
  sent: number;
  accepted: number;
  failed: number;
  /** Failures by kind, e.g. "503 DW_KAFKA_UNAVAILABLE", "timeout", "connection refused". */
  failures: Record<string, number>;
  /** Arrivals not sent because `maxInFlight` requests were already waiting. */
  skipped: number;
  /** The orders' later steps (POST /api/v1/orders/:id/status): sent, answered 200, failed by kind. */
  steps: { sent: number; ok: number; failed: number; failures: Record<string, number> };
  inFlight: number;
  startedAt: number;
  endedAt?: number;
}

function orderBody(n: number, customers: number, strategy: string) {
  return JSON.stringify({
    customerId: `soak-c${n % customers}`,
    items: [
      { sku: `SKU-${n % 97}`, qty: 1 + (n % 3), priceCents: 100 + randomInt(10_000) },
      ...(n % 4 === 0 ? [{ sku: 'GIFT-WRAP', qty: 1, priceCents: 250 }] : []),
    ],
    strategy,
  });
}

/** ' DW_…' from an error body, '' when it has no code. */
function errorCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { code?: string }).code;
    return code ? ` ${code}` : '';
  } catch {
    return '';
  }
}

function failureKind(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return code ?? e.message;
}

export class SteadyLoad {
  readonly counts: LoadCounts;
  private readonly done: Promise<LoadCounts>;

  constructor(private readonly opts: SteadyLoadOptions) {
    this.counts = { sent: 0, accepted: 0, failed: 0, failures: {}, skipped: 0, steps: { sent: 0, ok: 0, failed: 0, failures: {} }, inFlight: 0, startedAt: Date.now() };
    this.done = this.run();
  }

  finished(): Promise<LoadCounts> {
    return this.done;
  }

  private async send(n: number): Promise<void> {
    const c = this.counts;
    c.sent++;
    c.inFlight++;
    try {
      const res = await fetch(`${this.opts.url}/api/v1/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: orderBody(n, this.opts.customers ?? 500, this.opts.strategy),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      if (res.status === 201) {
        c.accepted++;
        const orderId = (JSON.parse(text) as { order: { id: string } }).order.id;
        for (const status of this.opts.steps ?? []) if (!(await this.step(orderId, status))) break;
        return;
      }
      this.fail(`${res.status}${errorCode(text)}`);
    } catch (err) {
      this.fail(failureKind(err));
    } finally {
      c.inFlight--;
    }
  }

  /** One later step of an order; false when it failed (the order's next steps are not sent). */
  private async step(orderId: string, status: string): Promise<boolean> {
    const s = this.counts.steps;
    s.sent++;
    let kind: string;
    try {
      const res = await fetch(`${this.opts.url}/api/v1/orders/${orderId}/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      if (res.status === 200) {
        s.ok++;
        return true;
      }
      kind = `${res.status}${errorCode(text)}`;
    } catch (err) {
      kind = failureKind(err);
    }
    s.failed++;
    s.failures[kind] = (s.failures[kind] ?? 0) + 1;
    return false;
  }

  private fail(kind: string): void {
    this.counts.failed++;
    this.counts.failures[kind] = (this.counts.failures[kind] ?? 0) + 1;
  }

  private async run(): Promise<LoadCounts> {
    const { ratePerSec } = this.opts;
    const maxInFlight = this.opts.maxInFlight ?? 400;
    const tickMs = 10;
    let n = 0;
    const start = Date.now();
    const pending = new Set<Promise<void>>();
    while (!(this.counts.accepted >= this.opts.orders && this.opts.mayStop())) {
      const due = Math.floor(((Date.now() - start) / 1000) * ratePerSec);
      while (n < due) {
        n++;
        if (this.counts.inFlight >= maxInFlight) {
          this.counts.skipped++;
          continue;
        }
        const p = this.send(n);
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
    await Promise.all(pending);
    this.counts.endedAt = Date.now();
    return this.counts;
  }
}
