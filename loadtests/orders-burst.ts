/** The Node twin of orders-burst.js (k6). `npm run loadtest -- orders-burst [--short] [--help]`. */
import { PROFILES, runIfMain } from './src/orders-cli.ts';

runIfMain(import.meta.url, PROFILES['orders-burst']);
