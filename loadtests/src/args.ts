/** The twin's command line: the k6 script's parameters as flags. */
import { parseArgs } from 'node:util';
import { DwError, WRITE_STRATEGIES } from '@dual-write/config';

export const HELP = `Usage: npm run loadtest -- pool-exhaustion [options]
       node tests/test-bad-scenario-connection-pool-exhaustion.js [options]

The Node twin of loadtests/pool-exhaustion.js (k6): adds a latency toxic to the Toxiproxy \`kafka\` proxy,
sends a burst of concurrent POST /api/v1/orders while parallel loops call the unrelated endpoints
(POST /api/v1/login, GET /api/v1/products?q=), removes the toxic (also on Ctrl-C, SIGTERM or an error),
then prints the summary and the k6 thresholds' verdicts.

Options:
  --base-url URL        the order service to load (default: start one in-process on a free port,
                        with shipping and billing, and stop it afterwards)
  --strategy NAME       write strategy of the orders: ${WRITE_STRATEGIES.join(' | ')} (default naive)
  --compare             run the burst twice, naive then outbox (same latency, burst and probes), and print
                        them side by side, with how long the outbox backlog took to drain after the toxic
                        was lifted; one JSON report, results/pool-exhaustion-compare-<time>.json
                        (not with --strategy; --check: exit 1 unless the outbox run passes and drains)
  --latency-ms N        latency added to the kafka proxy (default 5000)
  --burst N             concurrent order requests (default 20; more than DB_POOL_MAX)
  --probes N            parallel loops on the unrelated endpoints (default 4)
  --toxiproxy-url URL   Toxiproxy API (default TOXIPROXY_URL, http://127.0.0.1:8474)
  --json                print the JSON report instead of the table
  --check               exit 1 when a threshold is crossed (default: exit 0 after a run that completed,
                        since crossed thresholds are what the naive strategy is here to show)
  --no-lock             do not take the lab lock (only when the caller already holds it, e.g. a test)
  -h, --help            this help

Thresholds (the same as the k6 script's): http_req_failed{endpoint:unrelated} rate<0.01,
http_req_duration{endpoint:unrelated} p(99)<1000. The JSON report goes to results/pool-exhaustion-<time>.json.
Exit codes: 0 done, 1 failed (or a crossed threshold with --check), 2 bad arguments.`;

export interface PoolArgs {
  help: boolean;
  baseUrl?: string;
  toxiproxyUrl?: string;
  strategy: string;
  compare: boolean;
  latencyMs: number;
  burst: number;
  probes: number;
  json: boolean;
  check: boolean;
  lock: boolean;
}

function invalid(flag: string, value: string, expected: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `${flag} ${JSON.stringify(value)} is not valid: expected ${expected}.`, 'See --help for the options.');
}

function int(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) throw invalid(flag, value, `a whole number ≥ ${min}`);
  return Number(value);
}

function url(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw invalid(flag, value, 'an http:// URL such as http://localhost:3000');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(flag, value, 'an http:// URL');
  return value.replace(/\/+$/, '');
}

/** Throws DwError DW_CONFIG_INVALID on a bad flag or value. */
export function parsePoolArgs(argv: string[]): PoolArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        'base-url': { type: 'string' },
        'toxiproxy-url': { type: 'string' },
        strategy: { type: 'string' },
        compare: { type: 'boolean' },
        'latency-ms': { type: 'string' },
        burst: { type: 'string' },
        probes: { type: 'string' },
        json: { type: 'boolean' },
        check: { type: 'boolean' },
        'no-lock': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new DwError('DW_CONFIG_INVALID', (err as Error).message, 'See --help for the options.');
  }
  const v = parsed.values;
  const strategy = v.strategy ?? 'naive';
  if (v.compare && v.strategy !== undefined) throw new DwError('DW_CONFIG_INVALID', '--compare runs both naive and outbox; it takes no --strategy.', 'Leave --strategy out, or --compare.');
  if (!(WRITE_STRATEGIES as readonly string[]).includes(strategy)) throw invalid('--strategy', strategy, `one of ${WRITE_STRATEGIES.join(', ')}`);
  return {
    help: v.help ?? false,
    baseUrl: url('--base-url', v['base-url']),
    toxiproxyUrl: url('--toxiproxy-url', v['toxiproxy-url']),
    strategy,
    compare: v.compare ?? false,
    latencyMs: int('--latency-ms', v['latency-ms'], 5000, 0),
    burst: int('--burst', v.burst, 20, 1),
    probes: int('--probes', v.probes, 4, 1),
    json: v.json ?? false,
    check: v.check ?? false,
    lock: !(v['no-lock'] ?? false),
  };
}
