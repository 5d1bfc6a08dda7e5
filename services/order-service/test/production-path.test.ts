/**
 * The production path carries no lab code: the app (src/app.ts), the package's entry (src/index.ts) and
 * everything they import, statically or dynamically, stay out of src/lab/ (the fault scenarios). The lab's
 * entry (src/main.ts) is walked the same way and must reach src/lab/ — so the walk can see an import when
 * there is one (its negative control).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const LAB = path.join(SRC, 'lab') + path.sep;

/** Every file of this package reachable from `entry` through relative imports (`from '…'`, `import('…')`). */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm)) {
      const target = path.resolve(path.dirname(file), m[1]!);
      if (existsSync(target)) visit(target);
    }
  };
  visit(path.join(SRC, entry));
  return [...seen].map((f) => path.relative(SRC, f)).sort();
}

const inLab = (files: string[]) => files.filter((f) => path.join(SRC, f).startsWith(LAB));

describe('the production path', () => {
  it.each(['app.ts', 'index.ts'])('src/%s imports nothing from src/lab/ (fault scenarios)', (entry) => {
    const files = reachable(entry);
    expect(files).toContain('orders/write-order.ts');
    expect(inLab(files)).toEqual([]);
  });

  it('the lab entry src/main.ts does reach src/lab/, statically and (the scenarios) dynamically', () => {
    const lab = inLab(reachable('main.ts'));
    expect(lab).toContain('lab/fault-scenarios.ts');
    expect(lab).toContain('lab/scenarios/run-scenario.ts');
  });
});
