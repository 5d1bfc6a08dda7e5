/** The Node twin of orders-steady.js (k6). `npm run loadtest -- orders-steady [--short] [--help]`. */
import { PROFILES, runIfMain } from './src/orders-cli.ts';

runIfMain(import.meta.url, PROFILES['orders-steady']);
