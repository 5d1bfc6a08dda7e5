/** The README is the relay's reference: every export and every error code is documented there. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedNames, undocumented } from '@dual-write/testkit';
import { RELAY_ERROR_CODES } from '../src/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const names = exportedNames(new URL('../src/index.ts', import.meta.url).pathname);

describe('packages/relay/README.md', () => {
  it('documents every export of src/index.ts', () => {
    expect(names.length).toBeGreaterThan(20);
    expect(undocumented(names, readme)).toEqual([]);
  });

  it('lists every error code in its Errors table', () => {
    expect(Object.keys(RELAY_ERROR_CODES).filter((code) => !readme.includes(`| \`${code}\` |`))).toEqual([]);
  });

  it('negative control: a name that is not there is reported', () => {
    expect(undocumented(['startRelay', 'notARealExport'], readme)).toEqual(['notARealExport']);
  });
});
