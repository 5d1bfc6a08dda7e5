/**
 * The pool-exhaustion burst: `burst` order requests at once, and — for as long as they are in flight —
 * `probes` parallel loops calling the unrelated endpoints (login, product search). Works against any
 * running order service; the caller decides what toxic (if any) is in place.
 */
import { postJson, timedCall } from './http-call.ts';
import { summarize, type CallResult, type CallSummary } from './stats.ts';

export interface PoolBurstOptions {
  baseUrl: string;
  strategy: string;
  /** Concurrent order requests (make it larger than the service's pool). */
  burst: number;
  /** Parallel loops hitting the unrelated endpoints while the orders are in flight. */
  probes?: number;
  /** Pause between two probe calls of one loop. */
  probeIntervalMs?: number;
  customerId?: string;
  /** Keep probing the unrelated endpoints at least this long (so a fast burst is compared over the same window). */
  minDurationMs?: number;
}

export interface PoolBurstResult {
  strategy: string;
  burst: number;
  durationMs: number;
  orders: CallSummary;
  unrelated: CallSummary;
  login: CallSummary;
  products: CallSummary;
  orderIds: string[];
  /** Event ids of the accepted orders (POST response `eventId`). */
  eventIds: string[];
}

export const SAMPLE_ITEMS = [
  { sku: 'BOOK-001', qty: 1, priceCents: 4599 },
  { sku: 'MUG-001', qty: 2, priceCents: 1299 },
];

export async function runPoolBurst(opts: PoolBurstOptions): Promise<PoolBurstResult> {
  const t0 = performance.now();
  const probes = opts.probes ?? 4;
  const interval = opts.probeIntervalMs ?? 100;
  let inFlight = true;
  let windowOpen = true;
  const windowTimer = setTimeout(() => {
    windowOpen = false;
  }, opts.minDurationMs ?? 0);
  const login: CallResult[] = [];
  const products: CallResult[] = [];
  const orders = Promise.all(
    Array.from({ length: opts.burst }, (_, i) =>
      postJson(`${opts.baseUrl}/api/v1/orders?strategy=${encodeURIComponent(opts.strategy)}`, {
        customerId: `${opts.customerId ?? 'burst'}-${i}`,
        items: SAMPLE_ITEMS,
      }),
    ),
  ).finally(() => {
    inFlight = false;
  });
  const probeLoop = async (n: number) => {
    // At least one round, so a burst that ends at once still measures the unrelated endpoints.
    do {
      if (n % 2 === 0) login.push(await postJson(`${opts.baseUrl}/api/v1/login`, { email: 'demo@example.com', password: 'demo-password' }));
      else products.push(await timedCall(`${opts.baseUrl}/api/v1/products?q=book`));
      if (inFlight || windowOpen) await new Promise((r) => setTimeout(r, interval));
    } while (inFlight || windowOpen);
  };
  const [orderResults] = await Promise.all([orders, ...Array.from({ length: probes }, (_, i) => probeLoop(i))]);
  clearTimeout(windowTimer);
  const accepted = orderResults.flatMap((r) => {
    const body = r.body as { order?: { id?: string }; eventId?: string } | undefined;
    return r.ok && body?.order?.id ? [{ orderId: body.order.id, eventId: body.eventId ?? '' }] : [];
  });
  const orderIds = accepted.map((a) => a.orderId);
  const eventIds = accepted.map((a) => a.eventId).filter(Boolean);
  return {
    strategy: opts.strategy,
    burst: opts.burst,
    durationMs: Math.round(performance.now() - t0),
    orders: summarize(orderResults),
    unrelated: summarize([...login, ...products]),
    login: summarize(login),
    products: summarize(products),
    orderIds,
    eventIds,
  };
}
