/**
 * Steady order load, as a k6 load test: RATE POST /api/v1/orders per second for DURATION_S seconds
 * (constant-arrival-rate), MALFORMED_PCT % of them malformed (each must get a 4xx with a `code`).
 *
 *   k6 run loadtests/orders-steady.js
 *   k6 run -e STRATEGY=naive -e RATE=100 -e DURATION_S=60 loadtests/orders-steady.js
 *
 * Environment: BASE_URL (http://localhost:3000), STRATEGY (outbox), RATE (50), DURATION_S (30),
 * MALFORMED_PCT (10), SUMMARY_JSON (results/orders-steady.k6.json). handleSummary() prints the Node twin's table.
 * Node twin: npm run loadtest -- orders-steady.
 */
import { intEnv, ordersSummaryOutput, sendOrder, SUMMARY_TREND_STATS, THRESHOLDS } from './lib/orders.js';

const RATE = intEnv('RATE', 50, 1);
const DURATION_S = intEnv('DURATION_S', 30, 1);

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

export function orders() {
  sendOrder();
}

/** The Node twin's table on stdout, and the JSON report in SUMMARY_JSON (default results/orders-steady.k6.json). */
export function handleSummary(data) {
  return ordersSummaryOutput('orders-steady', `${RATE}/s for ${DURATION_S} s`, data);
}
