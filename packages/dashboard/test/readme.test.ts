/** Every export, option and error code of the package is in its README (a name missing there is reported). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dashboard from '../src/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const OPTIONS = ['database', 'schema', 'table', 'topic', 'topicFor', 'basePath', 'authorize', 'authorizeWrite', 'identify', 'readOnly', 'relays', 'audit', 'panels', 'refreshMs', 'trendWindowMs', 'exactCountLimit', 'migrate', 'title'];

export function undocumented(names: readonly string[], text: string): string[] {
  return names.filter((n) => !text.includes(`\`${n}`));
}

describe('README', () => {
  it('documents every export, option and error code', () => {
    expect(undocumented(Object.keys(dashboard).filter((k) => k !== 'DASHBOARD_MIGRATIONS_DIR' && k !== 'resolveDashboardOptions'), readme)).toEqual([]);
    expect(undocumented(OPTIONS, readme)).toEqual([]);
    expect(undocumented(Object.keys(dashboard.DASHBOARD_ERROR_CODES), readme)).toEqual([]);
  });

  it('reports a name it does not document (negative control)', () => {
    expect(undocumented(['DW_DASHBOARD_NO_SUCH_CODE', 'createDashboard'], readme)).toEqual(['DW_DASHBOARD_NO_SUCH_CODE']);
  });
});
