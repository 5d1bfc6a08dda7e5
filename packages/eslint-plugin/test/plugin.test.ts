/** The plugin's shape: flat-config ready, `import dualWrite from 'eslint-plugin-dual-write'; export default [dualWrite.configs.recommended]`. */
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import dualWrite from 'eslint-plugin-dual-write';
import { configs, docsUrl, meta, rules } from '../src/index.js';

describe('eslint-plugin-dual-write', () => {
  it('resolves by its package name to the same plugin, with meta and both rules', () => {
    expect(dualWrite.rules).toBe(rules);
    expect(dualWrite.configs).toBe(configs);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(meta).toEqual({ name: pkg.name, version: pkg.version, namespace: 'dual-write' });
    expect(Object.keys(rules).sort()).toEqual(['no-broker-send-in-transaction', 'no-send-after-commit']);
  });

  it('configs.recommended is a flat config object: the plugin under `dual-write`, both rules as errors', () => {
    expect(configs.recommended.plugins).toEqual({ 'dual-write': dualWrite });
    expect(configs.recommended.rules).toEqual({
      'dual-write/no-broker-send-in-transaction': 'error',
      'dual-write/no-send-after-commit': 'error',
    });
  });

  it('every rule points meta.docs.url at its README section', () => {
    for (const [name, rule] of Object.entries(rules)) {
      expect(rule.meta?.docs?.url).toBe(docsUrl(name));
      expect(rule.meta?.docs?.url).toBe(`https://www.npmjs.com/package/eslint-plugin-dual-write#${name}`);
    }
  });

  it('works as `export default [dualWrite.configs.recommended]`', async () => {
    const eslint = new ESLint({ overrideConfigFile: true, overrideConfig: [dualWrite.configs.recommended] });
    const [result] = await eslint.lintText(
      `export async function createOrder(sequelize, producer, order) {
        await sequelize.transaction(async (t) => {
          await producer.send({ topic: 'orders', messages: [{ value: JSON.stringify(order) }] });
        });
        const t = await sequelize.transaction();
        await t.commit();
        await producer.send({ topic: 'orders', messages: [{ value: JSON.stringify(order) }] });
      }`,
      { filePath: 'create-order.js' },
    );
    expect(result!.messages.map((m) => `${m.line} ${m.ruleId}`)).toEqual(['3 dual-write/no-broker-send-in-transaction', '7 dual-write/no-send-after-commit']);
  });
});
