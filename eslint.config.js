// ESLint for the whole workspace (flat config): JavaScript's recommended rules and typescript-eslint's
// recommended rules on every TypeScript and JavaScript file we write, and our own eslint-plugin-dual-write
// (packages/eslint-plugin: no broker send inside a transaction or right after a commit without the outbox; the
// lab's deliberate naive strategies carry disable comments saying why). `npm run lint` runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import dualWrite from 'eslint-plugin-dual-write';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.stack/**', 'results/**', 'docs/performance/**', '**/.turbo/**', '**/coverage/**', '**/.prisma-client/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  dualWrite.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // k6 scripts run in k6's runtime: its globals, not Node's.
    files: ['loadtests/*.js', 'loadtests/lib/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly', console: 'readonly' } },
  },
);
