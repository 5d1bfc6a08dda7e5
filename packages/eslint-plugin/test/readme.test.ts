/** The README is the plugin's reference: every export, rule and option is documented, and its examples are true. */
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { exportedNames, undocumented } from '@dual-write/testkit';
import { configs, rules } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const names = exportedNames(new URL('../src/index.js', import.meta.url).pathname);

/** The ```js blocks whose first line is `// ❌ …` (must be reported) or `// ✅ …` (must not be). */
const examples = [...readme.matchAll(/```js\n(\/\/ (❌|✅)[^\n]*)\n([\s\S]*?)```/g)].map((m) => ({ title: m[1]!, bad: m[2] === '❌', code: `${m[1]}\n${m[3]}` }));

describe('packages/eslint-plugin/README.md', () => {
  it('documents every export of src/index.js', () => {
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(undocumented(names, readme)).toEqual([]);
  });

  it('has a section for every rule, where its meta.docs.url points', () => {
    for (const [name, rule] of Object.entries(rules)) {
      expect(readme).toContain(`\n### ${name}\n`);
      expect(rule.meta?.docs?.url?.endsWith(`#${name}`)).toBe(true);
    }
  });

  it('documents every option of every rule', () => {
    for (const rule of Object.values(rules)) {
      const schema = rule.meta?.schema as [{ properties: Record<string, unknown> }];
      for (const option of Object.keys(schema[0].properties)) expect(readme).toContain(`| \`${option}\` |`);
    }
  });

  it('each ❌ example is reported and each ✅ example is not', async () => {
    expect(examples.filter((e) => e.bad).length).toBeGreaterThanOrEqual(14);
    expect(examples.filter((e) => !e.bad).length).toBeGreaterThanOrEqual(10);
    const eslint = new ESLint({ overrideConfigFile: true, overrideConfig: [{ languageOptions: { ecmaVersion: 2023, sourceType: 'module' } }, configs.recommended] });
    for (const example of examples) {
      const [result] = await eslint.lintText(example.code, { filePath: 'example.js' });
      const reports = result!.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
      if (example.bad) expect(reports.length, example.title).toBe(1);
      else expect(reports, example.title).toEqual([]);
      expect(reports.every((r) => r.startsWith('dual-write/')), `${example.title}: ${reports.join(', ')}`).toBe(true);
    }
  });
});
