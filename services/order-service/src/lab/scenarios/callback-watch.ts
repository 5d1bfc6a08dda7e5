/**
 * Watches the order service's own HTTP server for the consumers' callbacks (GET /api/v1/orders/:id) and what
 * they were answered. kind=early keeps its transaction open until the consumers have looked — the real,
 * event-driven delay between Kafka's acknowledgement and the COMMIT that lets the message outrun its commit.
 * It listens on the raw server, so it sees the core routes' answers without touching them, and it records only
 * the orders it was asked to track.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const ORDER_PATH = /^\/api\/v1\/orders\/([^/?#]+)(?:[?#].*)?$/;

export interface Lookup {
  status: number;
  /** The caller's User-Agent (the consumers send `dual-write-<name>`). */
  caller: string;
}

export interface TrackedOrder {
  /** Every callback for the order so far. */
  lookups(): Lookup[];
  /** Resolves once `callers` different callers were answered `status`, or when `timeoutMs` passed (timedOut). */
  waitFor(status: number, callers: number, timeoutMs: number): Promise<{ lookups: Lookup[]; timedOut: boolean }>;
  /** Stops recording this order. */
  stop(): void;
}

export interface CallbackWatch {
  /** Starts recording the callbacks for `orderId` (call it before the order's message can exist). */
  track(orderId: string): TrackedOrder;
  close(): void;
}

export function watchOrderCallbacks(server: Server): CallbackWatch {
  const tracked = new Map<string, { lookups: Lookup[]; wake: Set<() => void> }>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const m = req.method === 'GET' ? ORDER_PATH.exec(req.url ?? '') : null;
    const entry = m ? tracked.get(decodeURIComponent(m[1]!)) : undefined;
    if (!entry) return;
    res.once('finish', () => {
      entry.lookups.push({ status: res.statusCode, caller: String(req.headers['user-agent'] ?? 'unknown') });
      for (const wake of entry.wake) wake();
    });
  };
  server.on('request', onRequest);
  return {
    track(orderId) {
      const entry = { lookups: [] as Lookup[], wake: new Set<() => void>() };
      tracked.set(orderId, entry);
      return {
        lookups: () => [...entry.lookups],
        waitFor(status, callers, timeoutMs) {
          const enough = () => new Set(entry.lookups.filter((l) => l.status === status).map((l) => l.caller)).size >= callers;
          return new Promise((resolve) => {
            const done = (timedOut: boolean) => {
              clearTimeout(timer);
              entry.wake.delete(check);
              resolve({ lookups: [...entry.lookups], timedOut });
            };
            const check = () => {
              if (enough()) done(false);
            };
            const timer = setTimeout(() => done(true), timeoutMs);
            entry.wake.add(check);
            check();
          });
        },
        stop() {
          if (tracked.get(orderId) === entry) tracked.delete(orderId);
        },
      };
    },
    close() {
      server.off('request', onRequest);
      tracked.clear();
    },
  };
}
