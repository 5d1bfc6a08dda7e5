/**
 * detectHostageConnections(): while a database connection is checked out of a pg pool, or a transaction is open
 * on one (BEGIN … COMMIT, as pg, Sequelize, Knex and the other clients on `pg` send it), a Kafka call awaited in
 * the same unit of work is reported — the shape that drains a pool when Kafka is slow, and that leaves a zombie
 * message when the COMMIT then fails. Each report gives the time the call held the connection, the call site, and
 * feeds a Prometheus counter and histogram.
 *
 * It wraps `pg`'s Client.query/end and Pool.connect and the kafkajs producers' send/sendBatch (producers made
 * after it starts); `stop()` puts them back. Units of work are told apart with AsyncLocalStorage: mount
 * `fastifyHook` / `expressMiddleware`, or run work in `scope()`; code that issues BEGIN itself needs neither.
 */
import { DetectorError } from './errors.ts';
import { callSite } from './call-site.ts';
import { currentHoldings, Holdings, storage } from './scope.ts';
import { createMetrics, type PrometheusOptions } from './metrics.ts';

/** The parts of the `pg` module the detector wraps. */
export interface PgModule {
  Client: { prototype: object };
  Pool?: { prototype: object };
}

/** The part of the `kafkajs` module the detector wraps. */
export interface KafkajsModule {
  Kafka: { prototype: object };
}

export interface HostageReport {
  /** e.g. 'kafkajs producer.send'. */
  brokerCall: string;
  /** How long the broker call was awaited while the connection(s) stayed held (ms). */
  heldMs: number;
  /** Connections this unit of work held when the call began. */
  connections: number;
  /** Whether one of them was inside a transaction. */
  inTransaction: boolean;
  /** The first frame outside node_modules: `file:line (function)`; undefined when callSites is off. */
  callSite: string | undefined;
  /** Whether the broker call failed (it still held the connection meanwhile). */
  failed: boolean;
  /** When the broker call began (ISO 8601). */
  startedAt: string;
  /** When it settled and was reported (ISO 8601). */
  at: string;
}

export interface HostageDetectorOptions<R = unknown> {
  /** The `pg` module your code and your ORM use (`import pg from 'pg'`). */
  pg: PgModule;
  /** The `kafkajs` module (`import kafkajs from 'kafkajs'`, or `{ Kafka }`): producers made after the start are watched. */
  kafkajs: KafkajsModule;
  /** Counter `dw_hostage_broker_calls_total` and histogram `dw_hostage_held_seconds` in this registry. */
  prometheus?: PrometheusOptions<R>;
  /** Called for every report; default: one line through `log`. */
  onReport?: (report: HostageReport) => void;
  /** Where the default report line goes (default console.warn). */
  log?: (line: string) => void;
  /** Report only calls that held the connection at least this long (default 0: every one). */
  minHeldMs?: number;
  /** Capture the call site (a stack trace per watched call that holds a connection; default true). */
  callSites?: boolean;
  /** How many recent reports reports() keeps (default 100). */
  keep?: number;
}

export interface HostageDetector {
  /** Reports so far (all of them, not only the kept ones). */
  readonly count: number;
  /** The most recent reports, oldest first. */
  reports(): HostageReport[];
  /** Runs `fn` as its own unit of work. */
  scope<T>(fn: () => T): T;
  /** Fastify `onRequest` hook: each request is its own unit of work. */
  fastifyHook: (request: unknown, reply: unknown, done: () => void) => void;
  /** Express/Connect middleware: the same for Express. */
  expressMiddleware: (req: unknown, res: unknown, next: () => void) => void;
  /**
   * Puts pg and kafkajs back as they were. Producers made meanwhile and the hooks keep a thin wrapper that follows
   * the next detector started, and passes straight through while none runs.
   */
  stop(): void;
}

const ACTIVE = Symbol.for('dual-write.hostage-detector');
const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|end|abort|rollback)\b(?!\s+to\b)/i;

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Patchable = Record<string | symbol, unknown>;
type Watch = (brokerCall: string, original: Fn, self: unknown, args: unknown[]) => unknown;

/**
 * The running detector's watch, if any. Producers and request hooks made by a detector stay in place after its
 * stop() (they cannot be taken back) and follow whichever detector runs now — passing straight through when none.
 */
let activeWatch: Watch | undefined;
const unitOfWork = (next: () => void) => (activeWatch ? storage.run(new Holdings(), next) : next());

function invalid(option: string, expected: string): DetectorError {
  return new DetectorError('DW_DETECTOR_INVALID_OPTION', `detectHostageConnections(): option ${option} is not ${expected}.`, `Pass ${option}: ${expected} (see the @dual-write/detector README).`);
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(name, 'a number ≥ 0');
  return value;
}

function queryText(config: unknown): string {
  if (typeof config === 'string') return config;
  if (config && typeof config === 'object' && typeof (config as { text?: unknown }).text === 'string') return (config as { text: string }).text;
  return '';
}

export function detectHostageConnections<R>(options: HostageDetectorOptions<R>): HostageDetector {
  if (!options || typeof options !== 'object') throw invalid('options', 'an object { pg, kafkajs }');
  const clientProto = options.pg?.Client?.prototype as Patchable | undefined;
  if (!clientProto || typeof clientProto.query !== 'function') throw invalid('pg', "the pg module (import pg from 'pg')");
  const kafkaProto = options.kafkajs?.Kafka?.prototype as Patchable | undefined;
  if (!kafkaProto || typeof kafkaProto.producer !== 'function') throw invalid('kafkajs', "the kafkajs module (import kafkajs from 'kafkajs')");
  const poolProto = options.pg.Pool?.prototype as Patchable | undefined;
  const minHeldMs = nonNegative('minHeldMs', options.minHeldMs, 0);
  const keep = nonNegative('keep', options.keep, 100);
  if (clientProto[ACTIVE] || kafkaProto[ACTIVE]) {
    throw new DetectorError('DW_DETECTOR_ALREADY_ACTIVE', 'detectHostageConnections() is already watching these pg/kafkajs modules.', 'Start it once per process and share the detector, or stop() the first one before starting another.');
  }
  const withCallSites = options.callSites ?? true;
  const log = options.log ?? ((line: string) => console.warn(line));
  const metrics = options.prometheus ? createMetrics(options.prometheus) : undefined;
  const onReport = options.onReport ?? ((r: HostageReport) =>
    log(`[hostage-connection] ${r.connections} database connection(s)${r.inTransaction ? ' in a transaction' : ''} held ${r.heldMs.toFixed(0)} ms while awaiting ${r.brokerCall}${r.failed ? ' (it failed)' : ''}${r.callSite ? ` at ${r.callSite}` : ''} — send after COMMIT through an outbox instead`));

  const kept: HostageReport[] = [];
  let count = 0;
  /** Which unit of work opened the transaction / checkout on a client, so COMMIT and release() clear the right one. */
  const owners = new WeakMap<object, Holdings>();
  /** > 0 while pool.query() runs synchronously: the connect() it makes is its own, not the caller's. */
  let poolQueryDepth = 0;
  const restore: (() => void)[] = [];
  const patch = (target: Patchable, name: string, wrap: (original: Fn) => Fn) => {
    const original = target[name] as Fn;
    target[name] = wrap(original);
    restore.push(() => void (target[name] = original));
  };

  patch(clientProto, 'query', (original) => function (this: unknown, ...args: unknown[]) {
    const text = queryText(args[0]);
    const client = this as object;
    if (BEGIN.test(text)) {
      const h = currentHoldings();
      h.add(client, 'transaction');
      owners.set(client, h);
    } else if (END.test(text)) {
      owners.get(client)?.remove(client, 'transaction');
    }
    return original.apply(this, args);
  });
  if (typeof clientProto.end === 'function') {
    patch(clientProto, 'end', (original) => function (this: unknown, ...args: unknown[]) {
      const client = this as object;
      const h = owners.get(client);
      h?.remove(client, 'transaction');
      h?.remove(client, 'checkout');
      return original.apply(this, args);
    });
  }
  if (poolProto && typeof poolProto.query === 'function') {
    // pool.query() checks a client out, runs one statement on it and releases it: the connection is busy with that
    // statement, never idle awaiting something else, so its checkout is no hold. Without this, a background loop
    // outside any unit of work (a relay, a job) that runs pool.query() in one task while another task awaits a send
    // would see that checkout as its own.
    patch(poolProto, 'query', (original) => function (this: unknown, ...args: unknown[]) {
      poolQueryDepth++;
      try {
        return original.apply(this, args);
      } finally {
        poolQueryDepth--;
      }
    });
  }
  if (poolProto && typeof poolProto.connect === 'function') {
    patch(poolProto, 'connect', (original) => function (this: unknown, ...args: unknown[]) {
      if (poolQueryDepth > 0) return original.apply(this, args); // pool.query()'s own checkout (it calls connect synchronously)
      const h = currentHoldings();
      const hold = (client: Patchable) => {
        h.add(client, 'checkout');
        owners.set(client, h);
        const release = client.release as Fn | undefined;
        if (typeof release === 'function') {
          client.release = function (this: unknown, ...releaseArgs: unknown[]) {
            h.remove(client, 'checkout');
            client.release = release;
            return release.apply(this, releaseArgs);
          };
        }
      };
      const cb = args[0];
      if (typeof cb === 'function') {
        return original.call(this, (err: unknown, client: Patchable | undefined, done: Fn) => {
          if (!err && client) hold(client);
          const release = client?.release as Fn | undefined;
          return (cb as Fn)(err, client, release && client ? (e?: unknown) => release.call(client, e) : done);
        });
      }
      return (original.apply(this, args) as Promise<Patchable>).then((client) => {
        hold(client);
        return client;
      });
    });
  }

  const report = (brokerCall: string, held: { connections: number; inTransaction: boolean }, t0: number, stack: string | undefined, failed: boolean) => {
    const heldMs = performance.now() - t0;
    if (heldMs < minHeldMs) return;
    const now = Date.now();
    const r: HostageReport = {
      brokerCall,
      heldMs: Math.round(heldMs * 10) / 10,
      connections: held.connections,
      inTransaction: held.inTransaction,
      callSite: withCallSites ? callSite(stack) : undefined,
      failed,
      startedAt: new Date(now - heldMs).toISOString(),
      at: new Date(now).toISOString(),
    };
    count++;
    kept.push(r);
    if (kept.length > keep) kept.shift();
    metrics?.observe(r);
    try {
      onReport(r);
    } catch {
      /* a reporter's failure never breaks the application's call */
    }
  };
  const watch: Watch = (brokerCall, original, self, args) => {
    const held = storage.getStore()?.snapshot();
    if (!held || held.connections === 0) return original.apply(self, args);
    const stack = withCallSites ? new Error().stack : undefined;
    const t0 = performance.now();
    const result = original.apply(self, args) as Promise<unknown>;
    return result.then(
      (value) => {
        report(brokerCall, held, t0, stack, false);
        return value;
      },
      (err: unknown) => {
        report(brokerCall, held, t0, stack, true);
        throw err;
      },
    );
  };
  patch(kafkaProto, 'producer', (original) => function (this: unknown, ...args: unknown[]) {
    const producer = original.apply(this, args) as Patchable;
    for (const method of ['send', 'sendBatch']) {
      const send = producer[method] as Fn | undefined;
      if (typeof send !== 'function') continue;
      const name = `kafkajs producer.${method}`;
      producer[method] = function (this: unknown, ...sendArgs: unknown[]) {
        const w = activeWatch;
        return w ? w(name, send, this, sendArgs) : send.apply(this, sendArgs);
      };
    }
    return producer;
  });
  clientProto[ACTIVE] = true;
  kafkaProto[ACTIVE] = true;
  activeWatch = watch;

  return {
    get count() {
      return count;
    },
    reports: () => [...kept],
    scope: (fn) => storage.run(new Holdings(), fn),
    fastifyHook: (_request, _reply, done) => unitOfWork(done),
    expressMiddleware: (_req, _res, next) => unitOfWork(next),
    stop() {
      if (activeWatch === watch) activeWatch = undefined;
      for (const undo of restore.reverse()) undo();
      restore.length = 0;
      delete clientProto[ACTIVE];
      delete kafkaProto[ACTIVE];
    },
  };
}
