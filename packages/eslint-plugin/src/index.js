/**
 * eslint-plugin-dual-write: two rules that catch the dual-write problem in code review instead of in production.
 *
 *   import dualWrite from 'eslint-plugin-dual-write';
 *   export default [dualWrite.configs.recommended];
 */
import noBrokerSendInTransaction from './rules/no-broker-send-in-transaction.js';
import noSendAfterCommit from './rules/no-send-after-commit.js';
import { docsUrl } from './docs-url.js';

const meta = { name: 'eslint-plugin-dual-write', version: '0.1.0', namespace: 'dual-write' };

const rules = {
  'no-broker-send-in-transaction': noBrokerSendInTransaction,
  'no-send-after-commit': noSendAfterCommit,
};

/** @type {import('eslint').ESLint.Plugin & { meta: typeof meta, rules: typeof rules, configs: { recommended: import('eslint').Linter.Config } }} */
const plugin = { meta, rules, configs: { recommended: {} } };

/** Both rules as errors, for a flat config array: `export default [dualWrite.configs.recommended]`. */
const recommended = {
  name: 'dual-write/recommended',
  plugins: { 'dual-write': plugin },
  rules: {
    'dual-write/no-broker-send-in-transaction': /** @type {const} */ ('error'),
    'dual-write/no-send-after-commit': /** @type {const} */ ('error'),
  },
};
plugin.configs.recommended = recommended;
const configs = plugin.configs;

export { meta, rules, configs, docsUrl };
export default plugin;
