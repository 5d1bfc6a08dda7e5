/**
 * Bursts of orders, as a k6 load test (ramping-arrival-rate): BURSTS times, 2 s ramp from BASE_RATE to
 * PEAK_RATE per second, 3 s at the peak, 2 s back down, 5 s at the base rate (the Node twin's burstStages);
 * MALFORMED_PCT % of the requests malformed (each must get a 4xx with a `code`).
 * Run it from the repository's root with the lab running (`npm start` in another terminal):
 *
 *   k6 run loadtests/orders-burst.js
 *   k6 run -e PEAK_RATE=400 -e BURSTS=5 loadtests/orders-burst.js
 *
 * Environment (-e NAME=value; k6 also passes your shell's environment — setup() prints every value in use and
 * where it came from): BASE_URL (http://localhost:3000), STRATEGY (outbox), BASE_RATE (10), PEAK_RATE (200),
 * BURSTS (3), MALFORMED_PCT (10), SUMMARY_JSON (results/orders-burst.k6.json).
 * setup() stops the run when the service does not answer. handleSummary() prints the Node twin's table and
 * writes SUMMARY_JSON, relative to the folder k6 runs in (k6 creates no folder: the repository ships results/).
 * Node twin: npm run loadtest -- orders-burst.
 */
import { checkService, intEnv, ordersSummaryOutput, sendOrder, summaryPath, SUMMARY_TREND_STATS, THRESHOLDS } from './lib/orders.js';

const BASE_RATE = intEnv('BASE_RATE', 10, 1);
const PEAK_RATE = intEnv('PEAK_RATE', 200, 1);
const BURSTS = intEnv('BURSTS', 3, 1);
const SUMMARY_JSON = summaryPath('orders-burst');

const stages = [];
for (let i = 0; i < BURSTS; i++) {
  stages.push({ target: PEAK_RATE, duration: '2s' }, { target: PEAK_RATE, duration: '3s' }, { target: BASE_RATE, duration: '2s' }, { target: BASE_RATE, duration: '5s' });
}

const PRE_ALLOCATED_VUS = Math.max(10, BASE_RATE);

export const options = {
  scenarios: {
    orders: {
      executor: 'ramping-arrival-rate',
      exec: 'orders',
      startRate: BASE_RATE,
      timeUnit: '1s',
      stages,
      preAllocatedVUs: PRE_ALLOCATED_VUS,
      // k6 refuses maxVUs below preAllocatedVUs (a base rate above the peak would otherwise give that).
      maxVUs: Math.max(50, 2 * PEAK_RATE, PRE_ALLOCATED_VUS),
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
  return ordersSummaryOutput('orders-burst', `${BURSTS} bursts ${BASE_RATE}→${PEAK_RATE}/s`, data, SUMMARY_JSON);
}
