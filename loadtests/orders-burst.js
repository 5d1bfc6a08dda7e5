/**
 * Bursts of orders, as a k6 load test (ramping-arrival-rate): BURSTS times, 2 s ramp from BASE_RATE to
 * PEAK_RATE per second, 3 s at the peak, 2 s back down, 5 s at the base rate (the Node twin's burstStages);
 * MALFORMED_PCT % of the requests malformed (each must get a 4xx with a `code`).
 *
 *   k6 run loadtests/orders-burst.js
 *   k6 run -e PEAK_RATE=400 -e BURSTS=5 loadtests/orders-burst.js
 *
 * Environment: BASE_URL (http://localhost:3000), STRATEGY (outbox), BASE_RATE (10), PEAK_RATE (200),
 * BURSTS (3), MALFORMED_PCT (10). Node twin: npm run loadtest -- orders-burst.
 */
import { intEnv, ordersSummaryOutput, sendOrder, SUMMARY_TREND_STATS, THRESHOLDS } from './lib/orders.js';

const BASE_RATE = intEnv('BASE_RATE', 10, 1);
const PEAK_RATE = intEnv('PEAK_RATE', 200, 1);
const BURSTS = intEnv('BURSTS', 3, 1);

const stages = [];
for (let i = 0; i < BURSTS; i++) {
  stages.push({ target: PEAK_RATE, duration: '2s' }, { target: PEAK_RATE, duration: '3s' }, { target: BASE_RATE, duration: '2s' }, { target: BASE_RATE, duration: '5s' });
}

export const options = {
  scenarios: {
    orders: {
      executor: 'ramping-arrival-rate',
      exec: 'orders',
      startRate: BASE_RATE,
      timeUnit: '1s',
      stages,
      preAllocatedVUs: Math.max(10, BASE_RATE),
      maxVUs: Math.max(50, 2 * PEAK_RATE),
    },
  },
  thresholds: THRESHOLDS,
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function orders() {
  sendOrder();
}

/** The Node twin's table on stdout, and the JSON report in SUMMARY_JSON (default results/orders-burst.k6.json). */
export function handleSummary(data) {
  return ordersSummaryOutput('orders-burst', `${BURSTS} bursts ${BASE_RATE}→${PEAK_RATE}/s`, data);
}
