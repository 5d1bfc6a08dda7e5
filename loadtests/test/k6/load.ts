/**
 * Loads a k6 script under Node with the stand-in k6 modules: its `import … from 'k6…'` lines are pointed
 * at test/k6/*-stub.ts, local `./` modules are loaded the same way, any other import fails the load, and the
 * k6 globals (__ENV, frozen as in k6, __VU, __ITER) are set. Then it does what `k6 run` does before the first
 * VU runs: parses `options` as JSON, refuses to start on what k6 refuses (`K6StartError`, k6's exit code 104)
 * and overwrites the script's `options` with k6's own structures (see overwrite.ts). A syntax error or a throw
 * in the init code fails the load, as it fails `k6 run` (exit code 107).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startupProblems } from './options-check.ts';
import { overwriteOptionsAsK6Does } from './overwrite.ts';
import { setK6State, type K6StubState, type StubRequest, type StubResponseInit } from './state.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const K6_MODULES: Record<string, string> = {
  k6: path.join(HERE, 'k6-stub.ts'),
  'k6/http': path.join(HERE, 'http-stub.ts'),
  'k6/metrics': path.join(HERE, 'metrics-stub.ts'),
};

export type K6Module = Record<string, unknown> & {
  options: Record<string, unknown>;
};

export interface LoadedScript {
  module: K6Module;
  /** `options` as the script declared them and k6 parsed them (JSON); `module.options` now holds k6's values. */
  options: Record<string, unknown>;
  state: K6StubState;
  /** The specifiers the script imports. */
  imports: string[];
  /** Calls an exported function as k6 would (in the VU phase, with __VU / __ITER set). */
  call<T = unknown>(name: string, arg?: unknown, vu?: number): T;
}

/** The script's import specifiers (static `import … from '…'` and bare `import '…'`). */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

/**
 * Writes the script (and, recursively, the local modules it imports with a relative path, as k6 allows) to a
 * temporary .mjs with the k6 imports pointed at the stand-ins. Returns it and every specifier imported.
 */
function prepare(file: string): { target: string; imports: string[] } {
  const source = readFileSync(file, 'utf8');
  const own = importSpecifiers(source);
  const foreign = own.filter((s) => !(s in K6_MODULES) && !s.startsWith('./'));
  if (foreign.length) throw new Error(`${path.basename(file)} imports ${foreign.join(', ')}: only the k6 built-ins ${Object.keys(K6_MODULES).join(', ')} and local ./ files are allowed`);
  const imports = [...own];
  const local = new Map<string, string>();
  for (const spec of own.filter((s) => s.startsWith('./'))) {
    const dep = prepare(path.resolve(path.dirname(file), spec));
    local.set(spec, pathToFileURL(dep.target).href);
    imports.push(...dep.imports);
  }
  const rewritten = source
    .replace(/(^\s*import\s+(?:[^'"]*?\s+from\s+)?)['"](k6(?:\/[a-z]+)?)['"]/gm, (_m, head: string, spec: string) => `${head}${JSON.stringify(pathToFileURL(K6_MODULES[spec]!).href)}`)
    .replace(/(^\s*import\s+(?:[^'"]*?\s+from\s+)?)['"](\.\/[^'"]+)['"]/gm, (_m, head: string, spec: string) => `${head}${JSON.stringify(local.get(spec)!)}`);
  const dir = path.join(tmpdir(), 'dual-write-k6-stub');
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${path.basename(file, '.js')}-${randomBytes(4).toString('hex')}.mjs`);
  writeFileSync(target, rewritten);
  return { target, imports };
}

/** `k6 run` refusing a script's configuration before it starts (k6 exits 104, "invalid config"). */
export class K6StartError extends Error {
  readonly exitCode = 104;
  constructor(readonly problems: string[]) {
    super(`k6 would refuse to start (exit code 104):\n  ${problems.join('\n  ')}`);
    this.name = 'K6StartError';
  }
}

export async function loadK6Script(file: string, env: Record<string, string> = {}, respond: (req: StubRequest) => StubResponseInit = () => ({ status: 200, body: '{}' })): Promise<LoadedScript> {
  const { target, imports } = prepare(file);

  const state: K6StubState = { phase: 'init', requests: [], metrics: new Map(), checks: [], sleeps: [], logs: [], respond };
  setK6State(state);
  const g = globalThis as Record<string, unknown>;
  g.__ENV = Object.freeze({ ...env });
  g.__VU = 0;
  g.__ITER = 0;
  const module = (await import(pathToFileURL(target).href)) as K6Module;
  const options = JSON.parse(JSON.stringify(module.options ?? {})) as Record<string, unknown>;
  const problems = startupProblems(options, module, state.metrics);
  if (problems.length) throw new K6StartError(problems);
  if (module.options) overwriteOptionsAsK6Does(module.options, options);
  state.phase = 'vu';
  return {
    module,
    options,
    state,
    imports,
    call<T>(name: string, arg?: unknown, vu = 1): T {
      const fn = module[name];
      if (typeof fn !== 'function') throw new Error(`the script exports no function "${name}"`);
      setK6State(state);
      g.__VU = vu;
      return (fn as (a?: unknown) => T)(arg);
    },
  };
}
