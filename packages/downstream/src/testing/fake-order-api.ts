/**
 * A real HTTP server on 127.0.0.1:<free port> that plays the order API's GET /api/v1/orders/:id for a
 * consumer's own tests: 200 `{ id, totalCents }` for orders it knows, 404 for the rest, and scripted
 * failures (a status such as 503, or a dropped connection) for the next N calls of an id.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedFailure = number | 'drop-connection';

export interface FakeOrderApi {
  /** http://127.0.0.1:<port> — pass it as orderServiceUrl. */
  readonly url: string;
  addOrder(id: string, totalCents: number): void;
  /** The next `times` calls for `id` fail with `how` (default 503), then it answers normally again. */
  failNext(id: string, times: number, how?: ScriptedFailure): void;
  /** Every call for `id` fails with `how` until clearFailures(id). */
  failAlways(id: string, how?: ScriptedFailure): void;
  clearFailures(id: string): void;
  /** How many GETs `id` received. */
  hits(id: string): number;
  close(): Promise<void>;
}

export async function startFakeOrderApi(): Promise<FakeOrderApi> {
  const orders = new Map<string, number>();
  const failures = new Map<string, { left: number; how: ScriptedFailure }>();
  const hitCounts = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const m = /^\/api\/v1\/orders\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'DW_NOT_FOUND', message: 'no such route' }));
      return;
    }
    const id = decodeURIComponent(m[1]!);
    hitCounts.set(id, (hitCounts.get(id) ?? 0) + 1);
    const failure = failures.get(id);
    if (failure && failure.left > 0) {
      failure.left--;
      if (failure.how === 'drop-connection') {
        req.socket.destroy();
        return;
      }
      res.writeHead(failure.how, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'FAKE_FAILURE', status: failure.how }));
      return;
    }
    const totalCents = orders.get(id);
    if (totalCents === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'DW_NOT_FOUND', message: `order ${id} does not exist` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, totalCents }));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    addOrder: (id, totalCents) => void orders.set(id, totalCents),
    failNext: (id, times, how = 503) => void failures.set(id, { left: times, how }),
    failAlways: (id, how = 503) => void failures.set(id, { left: Number.POSITIVE_INFINITY, how }),
    clearFailures: (id) => void failures.delete(id),
    hits: (id) => hitCounts.get(id) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
