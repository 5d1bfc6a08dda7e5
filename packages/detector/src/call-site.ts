/** The first stack frame outside node_modules, node's internals and this package: where the broker call was made. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const OWN_DIR = path.dirname(fileURLToPath(import.meta.url));

export function callSite(stack: string | undefined, cwd = process.cwd()): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (file.includes(`${path.sep}node_modules${path.sep}`) || file.startsWith(OWN_DIR)) continue;
    const fn = /^at (?:async )?([^\s(]+) \(/.exec(line.trim())?.[1];
    return `${path.relative(cwd, file) || file}:${m[2]}${fn ? ` (${fn})` : ''}`;
  }
  return undefined;
}
