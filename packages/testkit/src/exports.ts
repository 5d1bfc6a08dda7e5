/** The names a package's index module exports (`export { a, type B } from …`), for tests that check its README documents each. */
import { readFileSync } from 'node:fs';

export function exportedNames(indexFile: string): string[] {
  const source = readFileSync(indexFile, 'utf8');
  const names: string[] = [];
  for (const m of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

/** The names a README never mentions as code (`name` or `name(…)` in backticks). */
export function undocumented(names: readonly string[], readme: string): string[] {
  return names.filter((n) => !new RegExp('`' + n.replace(/[$]/g, '\\$') + '[`(<. ]').test(readme));
}
