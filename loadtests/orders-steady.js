/**
 * Steady order load, as a k6 load test: RATE POST /api/v1/orders per second for DURATION_S seconds
 * (constant-arrival-rate), MALFORMED_PCT % of them malformed (each must get a 4xx with a `code`).
 * Run it from the repository's root with the lab running (`npm start` in another terminal):
 *
 *   k6 run loadtests/orders-steady.js
 *   k6 run -e STRATEGY=naive -e RATE=100 -e DURATION_S=60 loadtests/orders-steady.js
 *
 * Environment (-e NAME=value; k6 also passes your shell's environment — setup() prints every value in use and
 * where it came from): BASE_URL (http://localhost:3000), STRATEGY (outbox), RATE (50), DURATION_S (30),
 * MALFORMED_PCT (10), SUMMARY_JSON (results/orders-steady.k6.json).
 * setup() stops the run when the service does not answer. handleSummary() prints the Node twin's table and
 * writes SUMMARY_JSON, relative to the folder k6 runs in (k6 creates no folder: the repository ships results/).
 * Node twin: npm run loadtest -- orders-steady.
 */
import { checkService, intEnv, ordersSummaryOutput, sendOrder, summaryPath, SUMMARY_TREND_STATS, THRESHOLDS } from './lib/orders.js';

const RATE = intEnv('RATE', 50, 1);
const DURATION_S = intEnv('DURATION_S', 30, 1);
const SUMMARY_JSON = summaryPath('orders-steady');

export const options = {
  scenarios: {
    orders: {
      executor: 'constant-arrival-rate',
      exec: 'orders',
      rate: RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.max(10, RATE),
      maxVUs: Math.max(50, 4 * RATE),
    },
  },
  thresholds: THRESHOLDS,
  summaryTrendStats: SUMMARY_TREND_STATS,
};

/** The service must answer; prints the settings in use. */
export function setup() {
  return checkService();
}

export function orders() {
  sendOrder();
}

/** The Node twin's table on stdout, and the JSON report in SUMMARY_JSON. */
export function handleSummary(data) {
  return ordersSummaryOutput('orders-steady', `${RATE}/s for ${DURATION_S} s`, data, SUMMARY_JSON);
}
