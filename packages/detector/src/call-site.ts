/**
 * Where the broker call was made: the first three stack frames outside node_modules, node's internals and this
 * package (the call itself, then its callers, async frames included), as `file:line (function) ← file:line (caller)`.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const OWN_DIR = path.dirname(fileURLToPath(import.meta.url));
const FRAMES = 3;

export function callSite(stack: string | undefined, cwd = process.cwd()): string | undefined {
  if (!stack) return undefined;
  const frames: string[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const text = line.trim();
    // `at fn (/abs/file.ts:1:2)`, `at /abs/file.ts:1:2` or file:// URLs; node:internal/… frames never match.
    const m = /(?:^at (?:async )?|\()((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?$/.exec(text);
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (file.includes(`${path.sep}node_modules${path.sep}`) || file.startsWith(OWN_DIR)) continue;
    const fn = /^at (?:async )?([^\s(]+) \(/.exec(text)?.[1];
    frames.push(`${path.relative(cwd, file) || file}:${m[2]}${fn && fn !== '<anonymous>' ? ` (${fn})` : ''}`);
    if (frames.length === FRAMES) break;
  }
  return frames.length ? frames.join(' ← ') : undefined;
}
