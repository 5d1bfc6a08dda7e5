/**
 * The plugin on this repository: over services/ and packages/ it flags exactly the lab's naive strategies —
 * the two deliberate dual writes in services/order-service/src/orders/write-order.ts — and each of them carries a
 * disable comment with its reason, which is used (no unused-directive report) and leaves zero reports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import dualWrite from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRITE_ORDER = 'services/order-service/src/orders/write-order.ts';

function config(): Linter.Config[] {
  return [
    // The plugin's own tests are full of deliberate dual writes.
    { ignores: ['**/node_modules/**', '**/dist/**', '**/.prisma-client/**', 'packages/eslint-plugin/test/**'] },
    { files: ['**/*.ts', '**/*.mts', '**/*.cts'], languageOptions: { parser: tseslint.parser as Linter.Parser } },
    dualWrite.configs.recommended,
    { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  ];
}

/** `file:line rule — source line` for every report of a dual-write rule or about a dual-write disable directive. */
async function lint(allowInlineConfig: boolean): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: config(), allowInlineConfig });
  const results = await eslint.lintFiles(['services', 'packages']);
  expect(results.length).toBeGreaterThan(100);
  const out: string[] = [];
  for (const r of results) {
    for (const m of r.messages) {
      expect(m.fatal ?? false, `${r.filePath}: ${m.message}`).toBe(false);
      if (!m.ruleId?.startsWith('dual-write/') && !m.message.includes('dual-write/')) continue;
      const file = path.relative(ROOT, r.filePath).split(path.sep).join('/');
      const line = readFileSync(r.filePath, 'utf8').split('\n')[m.line - 1]!.trim();
      out.push(`${file}:${m.ruleId ?? 'unused-directive'} — ${line}`);
    }
  }
  return out.sort();
}

describe('eslint-plugin-dual-write on this repository', () => {
  it('flags exactly the lab\'s naive strategies (disable comments ignored)', async () => {
    expect(await lint(false)).toEqual([
      `${WRITE_ORDER}:dual-write/no-broker-send-in-transaction — outcome.published = await deps.publisher.publish(event); // the pool connection waits here`,
      `${WRITE_ORDER}:dual-write/no-send-after-commit — outcome.published = await deps.publisher.publish(event);`,
    ]);
  });

  it('has zero reports with the disable comments honoured, and every dual-write disable comment is used', async () => {
    expect(await lint(true)).toEqual([]);
  });

  it('each of those sites carries a disable comment for its rule, with the reason', () => {
    const lines = readFileSync(path.join(ROOT, WRITE_ORDER), 'utf8').split('\n');
    const directives = lines.filter((l) => l.includes('eslint-disable') && l.includes('dual-write/'));
    expect(directives.map((l) => l.trim().replace(/ -- .*/, ''))).toEqual([
      '// eslint-disable-next-line dual-write/no-broker-send-in-transaction',
      '// eslint-disable-next-line dual-write/no-send-after-commit',
    ]);
    for (const d of directives) expect(d).toMatch(/ -- deliberate: the lab's naive.* strategy/);
  });
});
