/** ESLint's own RuleTester, wired to vitest's describe/it, plus the TypeScript parser for the TS-only cases. */
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

export const ruleTester = new RuleTester({ languageOptions: { ecmaVersion: 2023, sourceType: 'module' } });
export const tsRuleTester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' } });

/** Wraps statements in an async function, as they would be in a request handler. */
export const handler = (body: string) => `async function createOrder(order) {\n${body}\n}`;
